//! Reachability of each configured component (Kafka, Flink), for CheckHealth ("Save & test"):
//! a verdict and the reason a person can act on.

use std::time::Duration;

use pipeline_model::Health;

use crate::error::QueryError;
use crate::instance::Instance;

/// Verdict for one component, with the reason a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentHealth {
    pub component: &'static str,
    pub health: Health,
    pub reason: String,
}

/// Share of the query timeout the component checks may use, so that a hanging component is
/// reported as a row with its reason before the whole query times out.
const CHECK_BUDGET: f64 = 0.8;

/// Check every configured component concurrently; an unreachable one is `critical` with the
/// reason, never an error for the whole query.
pub async fn check_components(instance: &Instance, timeout: Duration) -> Vec<ComponentHealth> {
    let budget = timeout.mul_f64(CHECK_BUDGET);
    let kafka = async {
        let client = match instance.kafka.as_ref()? {
            Ok(client) => client,
            Err(e) => {
                return Some(ComponentHealth {
                    component: "kafka",
                    health: Health::Critical,
                    reason: QueryError::KafkaSetup(e.clone()).to_string(),
                })
            }
        };
        Some(match client.metadata(budget).await {
            Ok(md) if md.brokers.is_empty() => ComponentHealth {
                component: "kafka",
                health: Health::Critical,
                reason: "Kafka answered but lists no brokers".into(),
            },
            Ok(md) => ComponentHealth {
                component: "kafka",
                health: Health::Ok,
                reason: format!(
                    "{} brokers, {} topics, {} partitions",
                    md.brokers.len(),
                    md.topics,
                    md.partitions
                ),
            },
            Err(e) => ComponentHealth {
                component: "kafka",
                health: Health::Critical,
                reason: e.to_string(),
            },
        })
    };
    let flink = async {
        let client = instance.flink.as_ref()?;
        let answer =
            tokio::time::timeout(budget, client.get_json::<serde_json::Value>("/config")).await;
        Some(match answer {
            Err(_) => ComponentHealth {
                component: "flink",
                health: Health::Critical,
                reason: format!(
                    "Flink did not answer /config within {:.1} s",
                    budget.as_secs_f64()
                ),
            },
            Ok(Ok(config)) => ComponentHealth {
                component: "flink",
                health: Health::Ok,
                reason: format!(
                    "Flink {} answering at {}",
                    config
                        .get("flink-version")
                        .and_then(|v| v.as_str())
                        .unwrap_or("(unknown version)"),
                    client.base_url()
                ),
            },
            Ok(Err(e)) => ComponentHealth {
                component: "flink",
                health: Health::Critical,
                reason: e.to_string(),
            },
        })
    };
    let (kafka, flink) = tokio::join!(kafka, flink);
    kafka.into_iter().chain(flink).collect()
}
