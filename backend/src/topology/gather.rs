//! One refresh of the topology: Kafka and Flink asked concurrently, each within its share of
//! the query timeout; a side that fails becomes facts with the reason, never a failed query.
//! Each side's facts are shared with the queries that ask within the window (`coalesce`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pipeline_model::rules::GroupFacts;
use pipeline_model::{Thresholds, Topology};

use super::assemble::assemble;
use super::description::PipelineDescription;
use super::facts::{
    ConsumerGroupFacts, FlinkFacts, FlinkVertexFacts, JobFacts, KafkaFacts, TopicFacts,
};
use crate::error::QueryError;
use crate::flink::assess::assess_job;
use crate::flink::snapshot::{self, Parts};
use crate::instance::Instance;
use crate::kafka::cluster::cluster_facts;
use crate::kafka::lag::by_topic;
use crate::kafka::query::{snapshot as lag_snapshot, LagQuery};
use crate::kafka::KafkaClient;

/// Share of the query timeout each side may use, so a hanging side is reported as an unknown
/// node before the whole query times out.
const SIDE_BUDGET: f64 = 0.8;

/// Share of the Kafka side's budget by which each of its parts (the cluster's metadata, the
/// groups) must end, so that a slow part is reported before the side as a whole is cut.
const PART_SHARE: f64 = 0.95;

/// What a topology refresh may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    /// A pipeline description overriding the datasource's.
    pub pipeline: Option<&'a serde_json::Value>,
    /// Consumer groups to read by name (for clusters that cannot list groups).
    pub groups: &'a [String],
}

/// Gather facts and join them into the pipeline graph.
pub async fn build(
    instance: &Instance,
    scope: Scope<'_>,
    t: &Thresholds,
    timeout: Duration,
) -> Result<Topology, QueryError> {
    let raw = scope
        .pipeline
        .or(instance.settings.pipeline.as_ref())
        .cloned()
        .unwrap_or_default();
    let desc = PipelineDescription::parse(&raw).map_err(QueryError::InvalidQuery)?;
    let mut groups: Vec<String> = desc.jobs.iter().filter_map(|j| j.group.clone()).collect();
    groups.extend(scope.groups.iter().cloned());
    let budget = timeout.mul_f64(SIDE_BUDGET);
    let shared = &instance.topology_facts;
    let kafka = || {
        bounded(
            budget,
            "Kafka",
            kafka_facts(instance, groups.clone(), budget),
        )
    };
    let flink = || bounded(budget, "Flink", flink_facts(instance));
    let (kafka, flink) = tokio::join!(
        shared.kafka(&groups, budget, kafka),
        shared.flink(budget, flink)
    );
    let kafka = kafka.unwrap_or_else(|reason| {
        Arc::new(KafkaFacts {
            unreachable: Some(reason),
            ..Default::default()
        })
    });
    let flink = flink.unwrap_or_else(|reason| {
        Arc::new(FlinkFacts {
            unreachable: Some(reason),
            ..Default::default()
        })
    });
    Ok(assemble(&desc, &kafka, &flink, t))
}

async fn bounded<T>(
    budget: Duration,
    side: &str,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{side} did not answer within {:.1} s",
                budget.as_secs_f64()
            ))
        })
}

async fn kafka_facts(
    instance: &Instance,
    mut groups: Vec<String>,
    budget: Duration,
) -> Result<KafkaFacts, String> {
    let client = match instance.kafka.as_ref() {
        None => return Ok(KafkaFacts::default()),
        Some(Err(setup)) => return Err(QueryError::KafkaSetup(setup.clone()).to_string()),
        Some(Ok(client)) => client,
    };
    // Each part ends before the side's budget, so that what it knows is kept and why the rest
    // is missing is said (librdkafka's own timeout first, which names what failed).
    let deadline = Instant::now() + budget.mul_f64(PART_SHARE);
    let wait = budget.mul_f64(PART_SHARE);
    let cluster = client
        .blocking(move |c| cluster_facts(c, wait))
        .await
        .map_err(|e| e.to_string())?;
    let topics = cluster
        .topics
        .iter()
        .map(|t| TopicFacts {
            name: t.name.clone(),
            partitions: t.partitions,
            under_replicated: t.under_replicated,
            offline: t.offline,
            out_of_sync: t.out_of_sync.clone(),
            produce_rate: None,
        })
        .collect();
    // The datasource's groups are read as the query's are (kafkaConsumerGroups).
    groups.extend(client.settings().consumer_groups.iter().cloned());
    groups.sort();
    groups.dedup();
    let left = deadline.saturating_duration_since(Instant::now());
    let read = tokio::time::timeout(left, group_facts(client, groups.clone(), left))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "Kafka did not answer for the consumer groups within {:.1} s",
                left.as_secs_f64()
            ))
        });
    Ok(kafka_side(topics, read, &groups))
}

/// The Kafka side from its two parts: the topics (the cluster's metadata) stay when the
/// groups cannot be read; then the groups part is unknown with the reason, and each group
/// named (in the description, the query or the datasource) is unknown with it too.
fn kafka_side(
    topics: Vec<TopicFacts>,
    groups: Result<Vec<ConsumerGroupFacts>, String>,
    named: &[String],
) -> KafkaFacts {
    match groups {
        Ok(groups) => {
            // A topic's produce rate is sampled with the groups that read it.
            let mut topics = topics;
            for t in &mut topics {
                t.produce_rate = groups
                    .iter()
                    .flat_map(|g| &g.topic_produce_rates)
                    .find(|(name, _)| *name == t.name)
                    .map(|(_, rate)| *rate);
            }
            KafkaFacts {
                topics,
                groups,
                ..Default::default()
            }
        }
        Err(reason) => {
            let reason = format!("consumer groups unknown: {reason}");
            KafkaFacts {
                topics,
                groups: named
                    .iter()
                    .map(|name| ConsumerGroupFacts {
                        name: name.clone(),
                        facts: GroupFacts {
                            read_error: Some(reason.clone()),
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                    .collect(),
                groups_unknown: Some(reason),
                unreachable: None,
            }
        }
    }
}

/// Each group's lag, state and status: one lag snapshot of the named groups, or of every group
/// Kafka lists when none is named.
async fn group_facts(
    client: &KafkaClient,
    groups: Vec<String>,
    budget: Duration,
) -> Result<Vec<ConsumerGroupFacts>, String> {
    // Named groups are read even where Kafka lists none; otherwise every group Kafka lists.
    let query = if groups.is_empty() {
        LagQuery {
            group: Some(".*".into()),
            ..Default::default()
        }
    } else {
        LagQuery {
            groups,
            ..Default::default()
        }
    };
    let snap = lag_snapshot(client, &query, budget)
        .await
        .map_err(|e| e.to_string())?;
    let statuses = crate::kafka::status::evaluate(client, &snap);
    // Seconds behind by interpolation where the samples reach (no record reads here: the
    // topology must stay fast); otherwise lag / produce rate.
    let (behind, _) =
        crate::kafka::time_lag::by_interpolation(&snap.partitions, snap.at, &client.history());
    let window = client.window();
    let mut by_group: Vec<ConsumerGroupFacts> = Vec::new();
    for ((group, topic), totals) in by_topic(&snap.partitions) {
        let info = snap.groups.iter().find(|g| g.name == group);
        let estimate = window.estimate(&group, &topic);
        // by_topic is ordered by group, so a group's topics arrive one after the other.
        if by_group.last().is_none_or(|g| g.name != group) {
            by_group.push(ConsumerGroupFacts {
                name: group.clone(),
                facts: GroupFacts {
                    state: info.and_then(|i| i.state.clone()),
                    members: info.and_then(|i| i.members),
                    offsets_only: info.and_then(|i| i.offsets_only),
                    consumer_status: statuses.groups.get(&group).cloned(),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
        let Some(entry) = by_group.last_mut() else {
            continue;
        };
        entry.topics.push(topic.clone());
        if let Some(lag) = totals.lag {
            entry.facts.lag = Some(entry.facts.lag.unwrap_or(0.0) + lag as f64);
        }
        entry.facts.partitions_without_commit += totals.without_commit as u64;
        if let Some(e) = estimate {
            let seconds = behind
                .get(&(group.clone(), topic.clone()))
                .map(|b| b.0)
                .or(e.seconds_behind);
            entry.facts.time_lag_seconds = max_opt(entry.facts.time_lag_seconds, seconds);
            entry.drain_seconds = max_opt(entry.drain_seconds, e.drain_seconds);
            if let (Some(p), Some(c)) = (e.produce_rate, e.consume_rate) {
                entry.facts.lag_growing = Some(entry.facts.lag_growing.unwrap_or(false) || p > c);
            }
            if let Some(c) = e.consume_rate {
                entry.consume_rate = Some(entry.consume_rate.unwrap_or(0.0) + c);
            }
            if let Some(p) = e.produce_rate {
                entry.topic_produce_rates.push((topic.clone(), p));
            }
        }
    }
    // Groups that exist but have no commits yet still appear (with "no committed offsets").
    for info in &snap.groups {
        if !by_group.iter().any(|g| g.name == info.name) {
            by_group.push(ConsumerGroupFacts {
                name: info.name.clone(),
                facts: GroupFacts {
                    state: info.state.clone(),
                    members: info.members,
                    offsets_only: info.offsets_only,
                    read_error: info.error.clone(),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
    }
    Ok(by_group)
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

async fn flink_facts(instance: &Instance) -> Result<FlinkFacts, String> {
    let Some(client) = instance.flink.as_ref() else {
        return Ok(FlinkFacts::default());
    };
    // Exceptions name a lost TaskManager; TaskManagers themselves are not drawn.
    let parts = Parts {
        task_managers: false,
        ..Parts::ALL
    };
    let snap = snapshot::fetch(client, None, parts)
        .await
        .map_err(|e| e.to_string())?;
    let now_ms = snap.fetched_at_ms;
    // Only the readings of the assessment are kept, never its verdicts, so the facts hold no
    // thresholds and queries with different ones can share them.
    let readings = Thresholds::default();
    let jobs = snap
        .jobs
        .iter()
        .map(|job| {
            let assessed = assess_job(job, Some(&instance.watermarks), &readings, now_ms);
            let vertices = job
                .vertices
                .iter()
                .zip(&assessed.vertices)
                .map(|(v, a)| FlinkVertexFacts {
                    id: v.id.clone(),
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    status: (!v.status.is_empty()).then(|| v.status.clone()),
                    // The same facts the Flink queries' judgement graded.
                    facts: a.facts.clone(),
                    records_in_per_second: v.records_in_per_second,
                    records_out_per_second: v.records_out_per_second,
                })
                .collect();
            let checkpoints = job.checkpoints.as_ref();
            JobFacts {
                id: job.id.clone(),
                name: job.name.clone(),
                state: job.state.clone(),
                start_time_ms: job.start_time_ms,
                vertices,
                edges: job
                    .edges
                    .iter()
                    .map(|e| {
                        (
                            e.upstream.clone(),
                            e.downstream.clone(),
                            e.ship_strategy.clone(),
                        )
                    })
                    .collect(),
                checkpoint_age_seconds: checkpoints
                    .and_then(|c| c.last_completed.as_ref())
                    .map(|l| l.age_seconds),
                checkpoints_failed_since_completed: checkpoints
                    .map(|c| c.failed_since_last_completed)
                    .unwrap_or(0),
                partial: (!job.unread.is_empty()).then(|| job.unread.join("; ")),
                last_exception: job.last_exception.clone(),
            }
        })
        .collect();
    Ok(FlinkFacts {
        jobs,
        unreachable: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_topics_stay_when_the_groups_cannot_be_read() {
        let topics = vec![TopicFacts {
            name: "clicks".into(),
            partitions: 3,
            under_replicated: 1,
            ..Default::default()
        }];
        let named = ["billing".to_string(), "enrich".to_string()];
        let side = kafka_side(topics.clone(), Err("Kafka did not answer".into()), &named);
        assert_eq!(side.topics, topics);
        assert_eq!(side.unreachable, None);
        let reason = side.groups_unknown.expect("the groups part is unknown");
        assert_eq!(reason, "consumer groups unknown: Kafka did not answer");
        let names: Vec<&str> = side.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["billing", "enrich"]);
        assert!(side
            .groups
            .iter()
            .all(|g| g.facts.read_error.as_deref() == Some(reason.as_str())));

        let side = kafka_side(topics, Ok(vec![]), &named);
        assert_eq!((side.groups_unknown, side.groups.len()), (None, 0));
    }
}
