//! The `health` query's frame: the numeric series alert rules evaluate, one row per node.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::frame_contract::{frames, health_fields, metric_field, series_key};
use pipeline_model::{Node, Topology};

use crate::frames::describe;

/// The alerting series: one row per node, stable string labels (node, name, kind, job) and one
/// number, so Grafana alerting turns each row into a series. `status` is the health code
/// (0 ok, 1 warning, 2 critical, 3 unknown); `root cause` is that code on the node(s) named as
/// the root cause and 0 elsewhere, so a rule can page on a critical cause alone; other metrics are the node's stat of that name, rows without it are
/// left out.
pub fn health_series(topology: &Topology, metric: &str) -> Frame {
    let rows: Vec<(&Node, f64)> = topology
        .nodes
        .iter()
        .filter_map(|n| {
            let v = match metric {
                "status" => Some(n.health.code() as f64),
                "root cause" => Some(if n.bottleneck {
                    n.health.code() as f64
                } else {
                    0.0
                }),
                _ => n.stat(metric),
            };
            v.map(|v| (n, v))
        })
        .collect();
    let unit = topology
        .nodes
        .iter()
        .flat_map(|n| &n.stats)
        .find(|s| s.name == metric)
        .map(|s| s.unit);
    Frame::new(frames::HEALTH).with_fields([
        rows.iter()
            .map(|(n, _)| series_key(n.kind, &n.job, &n.title))
            .into_field(health_fields::NODE),
        rows.iter()
            .map(|(n, _)| n.title.clone())
            .into_field(health_fields::NAME),
        rows.iter()
            .map(|(n, _)| n.kind.as_str())
            .into_field(health_fields::KIND),
        rows.iter()
            .map(|(n, _)| n.job.clone())
            .into_field(health_fields::JOB),
        describe(
            rows.iter()
                .map(|(_, v)| *v)
                .into_field(metric_field(metric)),
            metric,
            unit,
        ),
    ])
}
