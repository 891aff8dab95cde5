//! A Flink job's part of the graph: its vertices with their stats and verdicts, a stalled
//! watermark shown where it starts, overdue checkpoints shown on the sinks, and the
//! bottleneck named.

use std::collections::HashSet;

use pipeline_model::frame_contract::vertex_id;
use pipeline_model::rules::{self, Verdict};
use pipeline_model::{bottleneck, Health, Node, NodeKind, Stat, Thresholds};

use super::{set_verdict, Graph};
use crate::topology::facts::{FlinkVertexFacts, JobFacts};

pub(super) fn vertex_kind(name: &str) -> NodeKind {
    if name.starts_with("Source:") {
        NodeKind::FlinkSource
    } else if name.contains("Sink:") || name.contains("Writer") {
        NodeKind::FlinkSink
    } else {
        NodeKind::FlinkOperator
    }
}

fn vertex_stats(v: &FlinkVertexFacts) -> Vec<Stat> {
    let f = &v.facts;
    let mut stats = vec![Stat::new("parallelism", v.parallelism as f64, "short")];
    let optional = [
        ("backpressure", f.backpressure, "percentunit"),
        ("busy", f.busy, "percentunit"),
        ("watermark lag", f.watermark_lag_seconds, "s"),
        ("watermark stalled", f.watermark_stalled_seconds, "s"),
        ("records in", v.records_in_per_second, "reqps"),
        ("records out", v.records_out_per_second, "reqps"),
    ];
    stats.extend(
        optional
            .into_iter()
            .filter_map(|(n, val, unit)| val.map(|x| Stat::new(n, x, unit))),
    );
    stats
}

pub(super) fn add_job(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let running = job.state == "RUNNING";
    for v in &job.vertices {
        let mut node = Node::new(
            vertex_id(&job.id, &v.id),
            v.name.clone(),
            vertex_kind(&v.name),
        );
        node.subtitle = job.name.clone();
        node.stats = vertex_stats(v);
        let verdict = if running {
            rules::vertex(&v.facts, t)
        } else {
            Verdict::new(
                Health::Critical,
                format!("job {} is {}", job.name, job.state),
            )
        };
        set_verdict(&mut node, verdict);
        graph.add(node);
    }
    for (up, down, strategy) in &job.edges {
        graph.connect(
            &vertex_id(&job.id, up),
            &vertex_id(&job.id, down),
            strategy.clone(),
        );
    }
    if !running {
        return;
    }
    inherit_stalled_watermarks(graph, job);
    judge_checkpoints(graph, job, t);
    name_bottleneck(graph, job, t);
    if let Some(partial) = &job.partial {
        for v in &job.vertices {
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                if node.health == Health::Ok {
                    node.reason = format!("{}; partial data: {partial}", node.reason);
                }
            }
        }
    }
}

/// A stalled watermark is reported where it starts; downstream vertices only inherit it.
fn inherit_stalled_watermarks(graph: &mut Graph, job: &JobFacts) {
    let stalled: HashSet<&str> = job
        .vertices
        .iter()
        .filter(|v| v.facts.watermark_stalled_seconds.is_some())
        .map(|v| v.id.as_str())
        .collect();
    for v in &job.vertices {
        let upstream_stalled = job
            .edges
            .iter()
            .find(|(up, down, _)| down == &v.id && stalled.contains(up.as_str()));
        if let (true, Some((up, _, _))) = (stalled.contains(v.id.as_str()), upstream_stalled) {
            let origin = job
                .vertices
                .iter()
                .find(|x| &x.id == up)
                .map(|x| x.name.as_str())
                .unwrap_or(up);
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                if node.health == Health::Critical
                    && node.reason.contains("watermark has not advanced")
                {
                    node.health = Health::Warning;
                    node.reason = format!("watermark held back upstream by {origin}");
                }
            }
        }
    }
}

/// Checkpoints complete when the sinks commit, so an overdue checkpoint is shown on the sinks
/// (or on the job's last vertices when no sink is recognised).
fn judge_checkpoints(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let verdict = rules::checkpoints(
        job.checkpoint_age_seconds,
        job.checkpoints_failed_since_completed,
        t,
    );
    let mut sinks: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSink)
        .collect();
    if sinks.is_empty() {
        sinks = job
            .vertices
            .iter()
            .filter(|v| !job.edges.iter().any(|(up, _, _)| up == &v.id))
            .collect();
    }
    for sink in sinks {
        if let Some(node) = graph.node_mut(&vertex_id(&job.id, &sink.id)) {
            if let Some(age) = job.checkpoint_age_seconds {
                node.stats.push(Stat::new("checkpoint age", age, "s"));
            }
            let combined = Verdict::worst(
                [
                    Verdict::new(node.health, node.reason.clone()),
                    verdict.clone(),
                ]
                .into_iter()
                .filter(|v| {
                    v.health != Health::Unknown || v.reason != "no checkpoint completed yet"
                }),
                &node.reason,
            );
            set_verdict(node, combined);
        }
    }
}

fn name_bottleneck(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let loads: Vec<bottleneck::Load> = job
        .vertices
        .iter()
        .map(|v| bottleneck::Load {
            id: &v.id,
            backpressure: v.facts.backpressure,
            busy: v.facts.busy,
        })
        .collect();
    let edges: Vec<(&str, &str)> = job
        .edges
        .iter()
        .map(|(a, b, _)| (a.as_str(), b.as_str()))
        .collect();
    let Some(cause) = bottleneck::find(&loads, &edges, t) else {
        return;
    };
    let cause_name = job
        .vertices
        .iter()
        .find(|v| v.id == cause)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let busy = job
        .vertices
        .iter()
        .find(|v| v.id == cause)
        .and_then(|v| v.facts.busy)
        .unwrap_or(0.0);
    if let Some(node) = graph.node_mut(&vertex_id(&job.id, cause)) {
        // Keep what else is wrong with it (an overdue checkpoint, a stalled watermark).
        let own = if node.health > Health::Ok {
            format!("; {}", node.reason)
        } else {
            String::new()
        };
        node.bottleneck = true;
        node.health = node.health.max(Health::Critical);
        node.reason = format!(
            "bottleneck: busy {:.0} % while upstream is backpressured{own}",
            busy * 100.0
        );
    }
    for v in &job.vertices {
        if v.facts
            .backpressure
            .is_some_and(|bp| bp >= t.backpressure_warning)
        {
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                node.reason = format!("{} (waiting on {cause_name})", node.reason);
            }
        }
    }
}
