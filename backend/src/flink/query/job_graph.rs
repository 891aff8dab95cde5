//! The `jobGraph` query: a job's vertices and edges as Node Graph frames.

use grafana_plugin_sdk::data::{Frame, VisType};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::{JobSnapshot, Parts};
use crate::flink::FlinkClient;
use crate::frames::describe;

pub async fn job_graph(
    client: &FlinkClient,
    q: &FlinkQuery,
    t: &Thresholds,
) -> Result<Vec<Frame>, QueryError> {
    let parts = Parts {
        load: true,
        rates: true,
        ..Parts::JOBS
    };
    let Loaded { sel, snap, a } = load(client, q, parts, None, t).await?;
    let rows = vertex_rows(&snap, &a, &sel);
    // Vertex ids repeat across jobs built from the same code: qualify them with the job id.
    let node_id = |job: &JobSnapshot, vertex: &str| format!("{}/{}", job.id, vertex);
    let mut node_meta = meta(&snap, json!({}));
    node_meta.preferred_visualisation = Some(VisType::NodeGraph);
    let nodes = Frame::new("nodes")
        .with_fields([
            rows.iter()
                .map(|r| node_id(r.job, &r.vertex.id))
                .into_field("id"),
            rows.iter()
                .map(|r| r.vertex.name.clone())
                .into_field("title"),
            rows.iter()
                .map(|r| r.job.name.clone())
                .into_field("subtitle"),
            describe(
                rows.iter()
                    .map(|r| r.vertex.busy)
                    .into_opt_field("mainstat"),
                "Busy",
                Some("percentunit"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.backpressure)
                    .into_opt_field("secondarystat"),
                "Backpressure",
                Some("percentunit"),
            ),
            rows.iter()
                .map(|r| r.a.verdict.health.color())
                .into_field("color"),
            describe(
                rows.iter()
                    .map(|r| r.vertex.parallelism)
                    .into_field("detail__parallelism"),
                "Parallelism",
                None,
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.records_in_per_second)
                    .into_opt_field("detail__recordsIn"),
                "Records in",
                Some("reqps"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.vertex.records_out_per_second)
                    .into_opt_field("detail__recordsOut"),
                "Records out",
                Some("reqps"),
            ),
            describe(
                rows.iter()
                    .map(|r| r.a.is_bottleneck)
                    .into_field("detail__bottleneck"),
                "Bottleneck",
                None,
            ),
            describe(
                rows.iter()
                    .map(|r| r.a.verdict.reason.clone())
                    .into_field("detail__reason"),
                "Why",
                None,
            ),
        ])
        .with_metadata(node_meta);
    let selected =
        |job: &JobSnapshot, id: &str| rows.iter().any(|r| r.job.id == job.id && r.vertex.id == id);
    let edges: Vec<_> = snap
        .jobs
        .iter()
        .flat_map(|j| j.edges.iter().map(move |e| (j, e)))
        .filter(|(j, e)| selected(j, &e.upstream) && selected(j, &e.downstream))
        .collect();
    let mut edge_meta = meta(&snap, json!({}));
    edge_meta.preferred_visualisation = Some(VisType::NodeGraph);
    let edge_frame = Frame::new("edges")
        .with_fields([
            edges
                .iter()
                .map(|(j, e)| format!("{}/{}->{}", j.id, e.upstream, e.downstream))
                .into_field("id"),
            edges
                .iter()
                .map(|(j, e)| node_id(j, &e.upstream))
                .into_field("source"),
            edges
                .iter()
                .map(|(j, e)| node_id(j, &e.downstream))
                .into_field("target"),
            describe(
                edges
                    .iter()
                    .map(|(_, e)| e.ship_strategy.clone())
                    .into_field("mainstat"),
                "Ship strategy",
                None,
            ),
        ])
        .with_metadata(edge_meta);
    Ok(vec![nodes, edge_frame])
}
