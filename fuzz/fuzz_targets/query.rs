//! A panel's query as Grafana hands it over: its JSON bytes and the `queryType` field, parsed
//! the way QueryData does, then every check a query goes through before anything is asked
//! upstream (timeouts, threshold overrides, regexes, the pipeline description, the metric).
//! Any input must give a query or a per-query error: never a panic, a hang or an OOM.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use pipeline_backend::flink::query::Selection;
use pipeline_backend::query::{ParsedQuery, QueryKind};
use pipeline_backend::topology::description::PipelineDescription;
use pipeline_model::{QueryType, Thresholds};

fuzz_target!(|data: &[u8]| {
    // First byte: the proto's queryType (one of ours, or empty: the JSON's own field).
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let names: Vec<&str> = QueryType::names().collect();
    let query_type = names.get(usize::from(pick)).copied().unwrap_or("");
    // What QueryData does first: text, then JSON (a failure is that query's 400).
    let Ok(text) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let Ok(query) = ParsedQuery::parse(query_type, &value) else {
        return;
    };
    let _ = query.thresholds(&Thresholds::default());
    assert!(query.timeout(Duration::from_secs(10)) <= Duration::from_secs(300));
    match &query.kind {
        QueryKind::Topology(q) => describe(q.pipeline.as_ref()),
        QueryKind::Health(q) => {
            let _ = q.metric();
            describe(q.scope.pipeline.as_ref());
        }
        QueryKind::ConsumerLag(q) | QueryKind::TimeLag(q) => {
            let _ = q.selection(&["default-group".to_string()]);
        }
        QueryKind::ClusterHealth(_) => {}
        QueryKind::Jobs(q)
        | QueryKind::JobGraph(q)
        | QueryKind::Backpressure(q)
        | QueryKind::Watermarks(q)
        | QueryKind::Checkpoints(q)
        | QueryKind::TaskManagers(q) => {
            let _ = Selection::of(q);
        }
    }
});

fn describe(pipeline: Option<&serde_json::Value>) {
    if let Some(Ok(d)) = pipeline.map(PipelineDescription::parse) {
        let _ = d.for_job("0123", "orders-enrichment");
    }
}
