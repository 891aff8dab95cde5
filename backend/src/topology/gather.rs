//! One refresh of the topology: Kafka and Flink asked concurrently, each within its share of
//! the query timeout; a side that fails becomes facts with the reason, never a failed query.

use std::time::Duration;

use pipeline_model::rules::{GroupFacts, VertexFacts};
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

/// Share of the query timeout each side may use, so a hanging side is reported as an unknown
/// node before the whole query times out.
const SIDE_BUDGET: f64 = 0.8;

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
    let (kafka, flink) = tokio::join!(
        bounded(budget, "Kafka", kafka_facts(instance, groups, budget)),
        bounded(budget, "Flink", flink_facts(instance, t))
    );
    let kafka = kafka.unwrap_or_else(|reason| KafkaFacts {
        unreachable: Some(reason),
        ..Default::default()
    });
    let flink = flink.unwrap_or_else(|reason| FlinkFacts {
        unreachable: Some(reason),
        ..Default::default()
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
    groups: Vec<String>,
    budget: Duration,
) -> Result<KafkaFacts, String> {
    let Some(client) = instance.kafka.as_ref() else {
        return Ok(KafkaFacts::default());
    };
    let cluster = client
        .blocking(move |c| cluster_facts(c, budget))
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
            produce_rate: None,
        })
        .collect();
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
    Ok(KafkaFacts {
        topics,
        groups: by_group,
        unreachable: None,
    })
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

async fn flink_facts(instance: &Instance, t: &Thresholds) -> Result<FlinkFacts, String> {
    let Some(client) = instance.flink.as_ref() else {
        return Ok(FlinkFacts::default());
    };
    let parts = Parts {
        exceptions: false,
        task_managers: false,
        ..Parts::ALL
    };
    let snap = snapshot::fetch(client, None, parts)
        .await
        .map_err(|e| e.to_string())?;
    let now_ms = snap.fetched_at_ms;
    let jobs = snap
        .jobs
        .iter()
        .map(|job| {
            let assessed = assess_job(job, Some(&instance.watermarks), t, now_ms);
            let vertices = job
                .vertices
                .iter()
                .zip(&assessed.vertices)
                .map(|(v, a)| FlinkVertexFacts {
                    id: v.id.clone(),
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    facts: VertexFacts {
                        backpressure: v.backpressure,
                        busy: v.busy,
                        watermark_lag_seconds: a.watermark_lag_seconds,
                        // Only a watermark that did not move counts as stalled.
                        watermark_stalled_seconds: a
                            .trend
                            .filter(|tr| tr.advanced == Some(false))
                            .map(|tr| tr.stalled_seconds),
                    },
                    records_in_per_second: v.records_in_per_second,
                    records_out_per_second: v.records_out_per_second,
                })
                .collect();
            let checkpoints = job.checkpoints.as_ref();
            JobFacts {
                id: job.id.clone(),
                name: job.name.clone(),
                state: job.state.clone(),
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
                partial: None,
            }
        })
        .collect();
    Ok(FlinkFacts {
        jobs,
        unreachable: None,
    })
}
