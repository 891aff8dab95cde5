//! The gRPC services Grafana calls: QueryData ([`data`]), CheckHealth and CollectMetrics
//! ([`diagnostics`], with the component checks of "Save & test" in [`check_health`]),
//! CallResource ([`resource`]), the Grafana Live streams of live queries ([`stream`]), served by [`serve`] (which answers a query whose JSON does not
//! parse on its own). Each one resolves the datasource instance, then hands off to
//! the query, Kafka or Flink modules.

mod check_health;
mod data;
mod diagnostics;
mod resource;
mod serve;
mod stream;

pub use serve::serve;

use std::collections::HashMap;
use std::sync::Arc;

use grafana_plugin_sdk::backend::DataSourceInstanceSettings;
use grafana_plugin_sdk::prelude::GrafanaPlugin;

use crate::error::QueryError;
use crate::instance::{Instance, Instances};
use crate::live::LiveQueries;
use crate::metrics::Metrics;

pub type Settings = DataSourceInstanceSettings<serde_json::Value, HashMap<String, String>>;

/// The plugin: shared by every request, cheap to clone.
#[derive(Clone, GrafanaPlugin)]
#[grafana_plugin(
    plugin_type = "datasource",
    json_data = "serde_json::Value",
    secure_json_data = "HashMap<String, String>"
)]
pub struct PipelinePlugin {
    instances: Instances,
    metrics: Arc<Metrics>,
    live: Arc<LiveQueries>,
}

impl PipelinePlugin {
    pub fn new() -> Self {
        PipelinePlugin {
            instances: Instances::default(),
            metrics: Arc::new(Metrics::new()),
            live: Arc::default(),
        }
    }

    fn instance(&self, settings: Option<&Settings>) -> Result<Arc<Instance>, QueryError> {
        let settings = settings.ok_or_else(|| {
            QueryError::InvalidQuery(
                "the request carries no datasource settings (is this called by Grafana?)".into(),
            )
        })?;
        self.instances.get_or_build(
            (settings.uid.clone(), settings.updated.timestamp_millis()),
            &settings.json_data,
            &settings.decrypted_secure_json_data,
        )
    }
}

/// A copy of a resolved instance (or of why it could not be), for each query or push using it.
fn shared(instance: &Result<Arc<Instance>, QueryError>) -> Result<Arc<Instance>, QueryError> {
    instance
        .as_ref()
        .map(Arc::clone)
        .map_err(QueryError::shared_copy)
}

impl Default for PipelinePlugin {
    fn default() -> Self {
        Self::new()
    }
}
