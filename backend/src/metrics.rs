//! The plugin's own metrics, served through CollectMetrics so that Grafana's
//! `/metrics/plugins/<id>` endpoint exposes them to Prometheus.

use std::time::Duration;

use prometheus::{CounterVec, Encoder, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    queries: CounterVec,
    durations: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("pipeline_health".into()), None)
            .expect("a constant prefix is a valid registry");
        let queries = CounterVec::new(
            Opts::new(
                "queries_total",
                "Queries answered, by query type and outcome",
            ),
            &["query_type", "outcome"],
        )
        .expect("constant metric definition");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "query_duration_seconds",
                "Time to answer one query, by query type",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["query_type"],
        )
        .expect("constant metric definition");
        registry
            .register(Box::new(queries.clone()))
            .expect("registered once");
        registry
            .register(Box::new(durations.clone()))
            .expect("registered once");
        Metrics {
            registry,
            queries,
            durations,
        }
    }

    pub fn observe_query(&self, query_type: &str, took: Duration, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.queries.with_label_values(&[query_type, outcome]).inc();
        self.durations
            .with_label_values(&[query_type])
            .observe(took.as_secs_f64());
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
