//! CheckHealth ("Save & test") and CollectMetrics.

use grafana_plugin_sdk::backend::{
    self, CheckHealthResponse, CollectMetricsResponse, MetricsPayload,
};
use pipeline_model::Health;

use super::check_health::check_components;
use super::PipelinePlugin;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DiagnosticsError(String);

#[backend::async_trait]
impl backend::DiagnosticsService for PipelinePlugin {
    type CheckHealthError = DiagnosticsError;

    async fn check_health(
        &self,
        request: backend::CheckHealthRequest<Self>,
    ) -> Result<CheckHealthResponse, Self::CheckHealthError> {
        let instance = match self.instance(request.plugin_context.instance_settings.as_ref()) {
            Ok(i) => i,
            Err(e) => return Ok(CheckHealthResponse::error(e.to_string())),
        };
        if instance.kafka.is_none() && instance.flink.is_none() {
            return Ok(CheckHealthResponse::error(
                "Nothing to check: set Kafka bootstrap servers and/or a Flink REST URL".into(),
            ));
        }
        let timeout = instance.settings.query_timeout;
        let rows = check_components(&instance, timeout).await;
        let message = rows
            .iter()
            .map(|r| format!("{}: {}", r.component, r.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let details = serde_json::json!({
            "components": rows.iter().map(|r| serde_json::json!({
                "component": r.component, "status": r.health.as_str(), "reason": r.reason,
            })).collect::<Vec<_>>()
        });
        let response = if Health::worst(rows.iter().map(|r| r.health)) == Health::Ok {
            CheckHealthResponse::ok(message)
        } else {
            CheckHealthResponse::error(message)
        };
        Ok(response.with_json_details(details))
    }

    type CollectMetricsError = DiagnosticsError;

    async fn collect_metrics(
        &self,
        _request: backend::CollectMetricsRequest<Self>,
    ) -> Result<CollectMetricsResponse, Self::CollectMetricsError> {
        Ok(CollectMetricsResponse::new(Some(
            MetricsPayload::prometheus(self.metrics.render()),
        )))
    }
}
