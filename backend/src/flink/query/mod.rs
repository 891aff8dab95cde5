//! The Flink query types, one module each: `jobs`, `jobGraph`, `backpressure`, `watermarks`,
//! `checkpoints`, `taskManagers`; here what they share: the job/vertex selection, the
//! snapshot refresh with its verdicts, the frames' `meta.custom` and their common columns.
//! [`listings`] answers the query editor's Flink dropdowns.

mod backpressure;
mod checkpoints;
mod job_graph;
mod jobs;
pub mod listings;
mod task_managers;
mod watermarks;

use grafana_plugin_sdk::data::{Field, Metadata, Notice, Severity};
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use regex::Regex;
use serde::Deserialize;
use serde_json::json;

pub use backpressure::backpressure;
pub use checkpoints::checkpoints;
pub use job_graph::job_graph;
pub use jobs::jobs;
pub use task_managers::task_managers;
pub use watermarks::watermarks;

use super::assess::{assess_job, JobAssessment};
use super::snapshot::{self, FlinkSnapshot, JobSnapshot, Parts, VertexSnapshot};
use super::watermark_history::WatermarkHistory;
use super::FlinkClient;
use crate::error::QueryError;
use crate::frames::custom_meta;

/// Fields of every Flink query type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FlinkQuery {
    /// Job id, or a regex of job names (whole name). Empty: every job.
    pub job: Option<String>,
    /// Vertex id, or a regex of vertex names (whole name). Empty: every vertex.
    pub vertex: Option<String>,
}

fn pattern(field: &str, value: &Option<String>) -> Result<Option<Regex>, QueryError> {
    let Some(p) = value.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| QueryError::InvalidQuery(format!("field `{field}`: not a valid regex: {e}")))
}

/// A query's job and vertex selection, parsed once (a bad regex is the query's error).
pub struct Selection {
    job: Option<Regex>,
    vertex: Option<Regex>,
}

impl Selection {
    pub fn of(q: &FlinkQuery) -> Result<Selection, QueryError> {
        Ok(Selection {
            job: pattern("job", &q.job)?,
            vertex: pattern("vertex", &q.vertex)?,
        })
    }

    fn vertex(&self, v: &VertexSnapshot) -> bool {
        snapshot::selects(self.vertex.as_ref(), &v.id, &v.name)
    }
}

/// A query's selection, the refreshed snapshot and its verdicts.
struct Loaded {
    sel: Selection,
    snap: FlinkSnapshot,
    a: Vec<JobAssessment>,
}

async fn load(
    client: &FlinkClient,
    q: &FlinkQuery,
    parts: Parts,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
) -> Result<Loaded, QueryError> {
    let sel = Selection::of(q)?;
    let snap = refresh(client, &sel, parts).await?;
    let a = assessed(&snap, history, t);
    Ok(Loaded { sel, snap, a })
}

async fn refresh(
    client: &FlinkClient,
    sel: &Selection,
    parts: Parts,
) -> Result<FlinkSnapshot, QueryError> {
    snapshot::fetch(client, sel.job.as_ref(), parts)
        .await
        .map_err(|e| QueryError::Upstream(e.to_string()))
}

/// How the snapshot was fetched, in every frame's `meta.custom`.
fn meta(snap: &FlinkSnapshot, extra: serde_json::Value) -> Metadata {
    let mut meta = custom_meta(
        json!({
            "snapshotMs": snap.elapsed.as_secs_f64() * 1000.0,
            "requests": snap.requests,
            "concurrency": snapshot::CONCURRENCY,
        }),
        extra,
    );
    // A partial answer says what is missing where Grafana shows it: a warning on the panel.
    let unread = snap.all_unread();
    if !unread.is_empty() {
        let mut notice = Notice::new(format!("partial answer: {}", unread.join("; ")));
        notice.severity = Some(Severity::Warning);
        meta.notices = Some(vec![notice]);
    }
    meta
}

/// One row per selected vertex, with its job and assessment.
struct VertexRow<'a> {
    job: &'a JobSnapshot,
    vertex: &'a VertexSnapshot,
    a: &'a super::assess::VertexAssessment,
}

fn assessed(
    snap: &FlinkSnapshot,
    history: Option<&WatermarkHistory>,
    t: &Thresholds,
) -> Vec<JobAssessment> {
    snap.jobs
        .iter()
        .map(|j| assess_job(j, history, t, snap.fetched_at_ms))
        .collect()
}

fn vertex_rows<'a>(
    snap: &'a FlinkSnapshot,
    assessments: &'a [JobAssessment],
    sel: &Selection,
) -> Vec<VertexRow<'a>> {
    snap.jobs
        .iter()
        .zip(assessments)
        .flat_map(|(job, ja)| {
            job.vertices
                .iter()
                .zip(&ja.vertices)
                .map(move |(vertex, a)| VertexRow { job, vertex, a })
        })
        .filter(|r| sel.vertex(r.vertex))
        .collect()
}

fn bottleneck_name<'a>(job: &'a JobSnapshot, a: &JobAssessment) -> Option<&'a str> {
    let id = a.bottleneck.as_deref()?;
    job.vertices
        .iter()
        .find(|v| v.id == id)
        .map(|v| v.name.as_str())
}

/// The frames' common job/vertex columns.
fn vertex_keys(rows: &[VertexRow]) -> [Field; 4] {
    [
        rows.iter().map(|r| r.job.id.clone()).into_field("jobId"),
        rows.iter().map(|r| r.job.name.clone()).into_field("job"),
        rows.iter()
            .map(|r| r.vertex.id.clone())
            .into_field("vertexId"),
        rows.iter()
            .map(|r| r.vertex.name.clone())
            .into_field("vertex"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_job_regex_names_the_field() {
        let q = FlinkQuery {
            job: Some("(".into()),
            vertex: None,
        };
        let err = Selection::of(&q).err().unwrap().to_string();
        assert!(err.contains("field `job`"), "{err}");
    }

    #[test]
    fn vertex_filter_matches_whole_names_or_ids() {
        let q = FlinkQuery {
            job: None,
            vertex: Some("slow-score.*".into()),
        };
        let sel = Selection::of(&q).unwrap();
        let v = |id: &str, name: &str| VertexSnapshot {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        };
        assert!(sel.vertex(&v("x", "slow-score -> orders-db: Writer")));
        assert!(!sel.vertex(&v("x", "Source: clicks -> enrich")));
    }
}
