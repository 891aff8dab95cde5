//! The plugin's own metrics, served through CollectMetrics so that Grafana's
//! `/metrics/plugins/<id>` endpoint exposes them to Prometheus.

use std::time::Duration;

use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    queries: CounterVec,
    durations: HistogramVec,
    live_streams: IntGauge,
    live_pushes: CounterVec,
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
        let live_streams = IntGauge::new(
            "live_streams",
            "Grafana Live streams running now (one per channel a panel is subscribed to)",
        )
        .expect("constant metric definition");
        let live_pushes = CounterVec::new(
            Opts::new(
                "live_pushes_total",
                "Answers pushed over Grafana Live, by query type and outcome",
            ),
            &["query_type", "outcome"],
        )
        .expect("constant metric definition");
        for metric in [
            Box::new(queries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(durations.clone()),
            Box::new(live_streams.clone()),
            Box::new(live_pushes.clone()),
        ] {
            registry.register(metric).expect("registered once");
        }
        Metrics {
            registry,
            queries,
            durations,
            live_streams,
            live_pushes,
        }
    }

    pub fn observe_query(&self, query_type: &str, took: Duration, ok: bool) {
        self.queries
            .with_label_values(&[query_type, outcome(ok)])
            .inc();
        self.durations
            .with_label_values(&[query_type])
            .observe(took.as_secs_f64());
    }

    /// A live stream started; it counts as running until the returned guard is dropped.
    pub fn live_stream_started(&self) -> LiveStreamGuard {
        self.live_streams.inc();
        LiveStreamGuard(self.live_streams.clone())
    }

    pub fn observe_live_push(&self, query_type: &str, ok: bool) {
        self.live_pushes
            .with_label_values(&[query_type, outcome(ok)])
            .inc();
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// The `outcome` label of the query and push counters.
fn outcome(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "error"
    }
}

/// Held by a running live stream; dropped with it, however it ends.
pub struct LiveStreamGuard(IntGauge);

impl Drop for LiveStreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
