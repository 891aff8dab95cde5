//! Per-datasource state: parsed settings and the upstream clients built from them.
//!
//! Grafana sends the instance settings with every request; building clients each time would
//! reconnect to Kafka and Flink on every refresh. Instances are cached by datasource uid and
//! rebuilt when the settings' `updated` stamp changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::QueryError;
use crate::flink::{FlinkClient, WatermarkHistory};
use crate::kafka::KafkaClient;
use crate::settings::DatasourceSettings;

/// The settings and clients of one datasource instance.
pub struct Instance {
    pub settings: DatasourceSettings,
    pub kafka: Option<KafkaClient>,
    pub flink: Option<FlinkClient>,
    /// Previous watermark readings, for "advanced since the last query" / "stalled for N s".
    pub watermarks: WatermarkHistory,
}

impl Instance {
    pub fn build(settings: DatasourceSettings) -> Result<Instance, QueryError> {
        let kafka = match &settings.kafka {
            Some(k) => Some(KafkaClient::new(k).map_err(|e| QueryError::Upstream(e.to_string()))?),
            None => None,
        };
        let flink = match &settings.flink {
            Some(f) => Some(
                FlinkClient::new(f, settings.query_timeout)
                    .map_err(|e| QueryError::Upstream(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Instance {
            settings,
            kafka,
            flink,
            watermarks: WatermarkHistory::default(),
        })
    }

    pub fn kafka(&self, query_type: &'static str) -> Result<&KafkaClient, QueryError> {
        self.kafka.as_ref().ok_or(QueryError::NotConfigured {
            query_type,
            component: "Kafka (bootstrap servers)",
        })
    }

    pub fn flink(&self, query_type: &'static str) -> Result<&FlinkClient, QueryError> {
        self.flink.as_ref().ok_or(QueryError::NotConfigured {
            query_type,
            component: "Flink (REST URL)",
        })
    }
}

/// Key of a cached instance: the datasource uid and the time its settings were last saved.
type InstanceKey = (String, i64);

/// Cached instances by datasource uid, with the `updated` stamp they were built from.
type InstanceCache = HashMap<String, (i64, Arc<Instance>)>;

#[derive(Default, Clone)]
pub struct Instances {
    cache: Arc<Mutex<InstanceCache>>,
}

impl Instances {
    /// The instance for these settings, built on first use or after the settings changed.
    pub fn get_or_build(
        &self,
        key: InstanceKey,
        json_data: &serde_json::Value,
        secure: &HashMap<String, String>,
    ) -> Result<Arc<Instance>, QueryError> {
        let (uid, updated) = key;
        if let Some((stamp, instance)) = self.lock().get(&uid) {
            if *stamp == updated {
                return Ok(instance.clone());
            }
        }
        let settings = DatasourceSettings::parse(json_data, secure)?;
        let instance = Arc::new(Instance::build(settings)?);
        self.lock().insert(uid, (updated, instance.clone()));
        Ok(instance)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InstanceCache> {
        // A panic while holding the lock cannot leave the map half-written (inserts are
        // single calls), so a poisoned lock is still safe to use.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}
