//! The `jobGraph` query: a job's vertices and edges as Node Graph frames.

use grafana_plugin_sdk::data::{Frame, VisType};
use pipeline_model::frame_contract::{detail_field, edge_fields, frames, node_fields};
use pipeline_model::node_stats::units;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{load, meta, vertex_rows, FlinkQuery, Loaded};
use crate::error::QueryError;
use crate::flink::snapshot::{JobSnapshot, Parts};
use crate::flink::FlinkClient;
use crate::frames::Columns;

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
    let nodes = Columns::over(&rows)
        .col(node_fields::ID, |r| node_id(r.job, &r.vertex.id))
        .col(node_fields::TITLE, |r| r.vertex.name.clone())
        .col(node_fields::SUBTITLE, |r| r.job.name.clone())
        .opt(node_fields::MAINSTAT, |r| r.vertex.busy)
        .shown("Busy", Some("percentunit"))
        .opt(node_fields::SECONDARYSTAT, |r| r.vertex.backpressure)
        .shown("Backpressure", Some("percentunit"))
        .col(node_fields::COLOR, |r| r.a.verdict.health.color())
        .col(&detail_field("parallelism"), |r| r.vertex.parallelism)
        .shown("Parallelism", None)
        .opt(&detail_field("recordsIn"), |r| {
            r.vertex.records_in_per_second
        })
        .shown("Records in", Some(units::RECORDS_PER_SECOND))
        .opt(&detail_field("recordsOut"), |r| {
            r.vertex.records_out_per_second
        })
        .shown("Records out", Some(units::RECORDS_PER_SECOND))
        .col(&detail_field("bottleneck"), |r| r.a.is_bottleneck)
        .shown("Bottleneck", None)
        .col(&detail_field("reason"), |r| r.a.verdict.reason.clone())
        .shown("Why", None)
        .frame(frames::NODES)
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
    let edge_frame = Columns::over(&edges)
        .col(edge_fields::ID, |(j, e)| {
            format!("{}/{}->{}", j.id, e.upstream, e.downstream)
        })
        .col(edge_fields::SOURCE, |(j, e)| node_id(j, &e.upstream))
        .col(edge_fields::TARGET, |(j, e)| node_id(j, &e.downstream))
        .col(edge_fields::MAINSTAT, |(_, e)| e.ship_strategy.clone())
        .shown("Ship strategy", None)
        .frame(frames::EDGES)
        .with_metadata(edge_meta);
    Ok(vec![nodes, edge_frame])
}
