//! The `topology` query (the whole pipeline as Node Graph frames) and the `health` query (one
//! number per node for alert rules), both from one topology refresh.

use std::time::Duration;

use grafana_plugin_sdk::data::Frame;
use pipeline_model::frame_contract::HEALTH_METRICS;
use pipeline_model::Thresholds;
use serde::Deserialize;

use crate::error::QueryError;
use crate::instance::Instance;
use crate::topology::gather::{build, Scope};
use crate::topology::health_series::health_series;
use crate::topology::node_graph::node_graph;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopologyQuery {
    /// A pipeline description for this query, overriding the datasource's.
    pub pipeline: Option<serde_json::Value>,
    /// Consumer groups to read by name (for clusters that cannot list groups).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthQuery {
    /// Which number per node: `status` (0 ok, 1 warning, 2 critical, 3 unknown), `lag`,
    /// `time lag`, `backpressure`, `busy`, `watermark lag`, `checkpoint age`.
    pub metric: Option<String>,
    #[serde(flatten)]
    pub scope: TopologyQuery,
}

impl HealthQuery {
    pub fn metric(&self) -> Result<&str, QueryError> {
        let metric = self.metric.as_deref().unwrap_or("status");
        if HEALTH_METRICS.contains(&metric) {
            Ok(metric)
        } else {
            Err(QueryError::InvalidQuery(format!(
                "field `metric`: `{metric}` is not one of: {}",
                HEALTH_METRICS.join(", ")
            )))
        }
    }
}

fn scope(q: &TopologyQuery) -> Scope<'_> {
    Scope {
        pipeline: q.pipeline.as_ref(),
        groups: &q.groups,
    }
}

pub async fn topology(
    instance: &Instance,
    q: &TopologyQuery,
    t: &Thresholds,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let topo = build(instance, scope(q), t, timeout).await?;
    Ok(node_graph(&topo))
}

pub async fn health(
    instance: &Instance,
    q: &HealthQuery,
    t: &Thresholds,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let metric = q.metric()?;
    let topo = build(instance, scope(&q.scope), t, timeout).await?;
    Ok(vec![health_series(&topo, metric)])
}
