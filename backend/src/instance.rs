//! Per-datasource state: parsed settings and the upstream clients built from them.
//!
//! Grafana sends the instance settings with every request; building clients each time would
//! reconnect to Kafka and Flink on every refresh. Instances are cached by datasource uid and
//! rebuilt when the settings' `updated` stamp changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::QueryError;
use crate::flink::{FlinkClient, WatermarkHistory};
use crate::kafka::config::KafkaSetupError;
use crate::kafka::KafkaClient;
use crate::settings::DatasourceSettings;
use crate::topology::coalesce::SharedFacts;

/// The settings and clients of one datasource instance.
pub struct Instance {
    pub settings: DatasourceSettings,
    /// The Kafka client, or why there is none (a bad Kafka setting): that fails the Kafka side
    /// only; Flink still answers.
    pub kafka: Option<Result<KafkaClient, KafkaSetupError>>,
    pub flink: Option<FlinkClient>,
    /// Previous watermark readings, for "advanced since the last query" / "stalled for N s".
    pub watermarks: WatermarkHistory,
    /// Topology facts shared by queries within the coalescing window.
    pub topology_facts: SharedFacts,
}

impl Instance {
    pub fn build(settings: DatasourceSettings) -> Result<Instance, QueryError> {
        let kafka = settings.kafka.as_ref().map(|k| match k {
            Ok(k) => KafkaClient::new(k),
            Err(e) => Err(KafkaSetupError::Settings(e.clone())),
        });
        let flink = match &settings.flink {
            Some(f) => Some(
                FlinkClient::new(f, settings.query_timeout)
                    .map_err(|e| QueryError::Upstream(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Instance {
            topology_facts: SharedFacts::new(settings.coalesce_window),
            settings,
            kafka,
            flink,
            watermarks: WatermarkHistory::default(),
        })
    }

    pub fn kafka(&self, query_type: &'static str) -> Result<&KafkaClient, QueryError> {
        match &self.kafka {
            None => Err(QueryError::NotConfigured {
                query_type,
                component: "Kafka (bootstrap servers)",
            }),
            Some(Err(e)) => Err(QueryError::KafkaSetup(e.clone())),
            Some(Ok(client)) => Ok(client),
        }
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
        let mut cache = self.lock();
        // Concurrent first requests (a dashboard's panels) each build one; the first stored is
        // kept, so they all share its clients, its histories and its coalesced refreshes.
        if let Some((stamp, first)) = cache.get(&uid) {
            if *stamp == updated {
                return Ok(first.clone());
            }
            // A request still carrying settings saved before the cached ones (sent just before
            // a save, or a live stream started earlier) is answered with its own settings, and
            // the cache never goes back, or old and new requests would rebuild it in turn.
            if *stamp > updated {
                return Ok(instance);
            }
        }
        cache.insert(uid, (updated, instance.clone()));
        Ok(instance)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InstanceCache> {
        // A panic while holding the lock cannot leave the map half-written (inserts are
        // single calls), so a poisoned lock is still safe to use.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(url: &str) -> serde_json::Value {
        json!({ "flinkUrl": url })
    }

    #[test]
    fn a_request_with_older_settings_gets_them_and_the_cache_stays_on_the_newest() {
        let instances = Instances::default();
        let none = HashMap::new();
        let get = |stamp: i64, url: &str| {
            instances
                .get_or_build(("ds".into(), stamp), &settings(url), &none)
                .unwrap()
        };
        let a = get(1, "http://a:8081");
        let b = get(2, "http://b:8081");
        assert!(!Arc::ptr_eq(&a, &b));
        let late_a = get(1, "http://a:8081");
        assert_eq!(late_a.flink("jobs").unwrap().base_url(), "http://a:8081");
        // B stays cached: the next request with B's stamp shares B's clients and histories.
        assert!(Arc::ptr_eq(&get(2, "http://b:8081"), &b));
        assert!(
            !Arc::ptr_eq(&late_a, &a),
            "the old one is not cached any more either"
        );
    }
}
