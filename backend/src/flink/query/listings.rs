//! The query editor's Flink listings (CallResource `flink/...`).

use serde_json::json;

use crate::error::QueryError;
use crate::flink::FlinkClient;

/// The query editor's listings: `flink/jobs` and `flink/jobs/<id>/vertices` (path without the
/// leading slash); `None` for any other path.
pub async fn resource(
    client: &FlinkClient,
    path: &str,
) -> Result<Option<serde_json::Value>, QueryError> {
    let segments: Vec<&str> = path.split('/').collect();
    let upstream = |e: crate::flink::FlinkError| QueryError::Upstream(e.to_string());
    match segments.as_slice() {
        ["flink", "jobs"] => {
            let overview: crate::flink::model::JobsOverview =
                client.get_json("/jobs/overview").await.map_err(upstream)?;
            let jobs: Vec<_> = overview
                .jobs
                .iter()
                .map(|j| json!({ "id": j.jid, "name": j.name, "state": j.state }))
                .collect();
            Ok(Some(json!({ "jobs": jobs })))
        }
        ["flink", "jobs", jid, "vertices"] => {
            // Job ids are hex; anything else would be spliced into the upstream URL.
            if jid.is_empty() || !jid.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(QueryError::InvalidQuery(format!(
                    "`{jid}` is not a Flink job id (32 hex digits)"
                )));
            }
            let detail: crate::flink::model::JobDetail = client
                .get_json(&format!("/jobs/{jid}"))
                .await
                .map_err(upstream)?;
            let vertices: Vec<_> = detail
                .vertices
                .iter()
                .map(|v| json!({ "id": v.id, "name": v.name }))
                .collect();
            Ok(Some(json!({ "vertices": vertices })))
        }
        _ => Ok(None),
    }
}
