//! The `timeLag` query: how far behind each group is on each topic, in seconds, with the
//! produce and consume rates it is estimated from.

use std::collections::HashMap;
use std::time::Duration;

use grafana_plugin_sdk::data::Frame;
use serde_json::json;

use super::{snapshot, snapshot_meta, LagQuery};
use crate::error::QueryError;
use crate::frames::Columns;
use crate::kafka::client::KafkaClient;
use crate::kafka::lag::by_topic;
use crate::kafka::{record_time, time_lag};

pub async fn time_lag(
    client: &KafkaClient,
    q: &LagQuery,
    timeout: Duration,
) -> Result<Vec<Frame>, QueryError> {
    let started = std::time::Instant::now();
    let snap = snapshot(client, q, timeout).await?;
    let (mut behind, unresolved) =
        time_lag::by_interpolation(&snap.partitions, snap.at, &client.history());
    // Partitions further behind than their samples reach: the record at the committed offset
    // says when it was written. Bounded in number and in time (what is left of the budget).
    let reads: Vec<(String, i32, i64)> = unresolved
        .iter()
        .take(record_time::MAX_READS)
        .filter_map(|p| Some((p.topic.to_string(), p.partition, p.committed?)))
        .collect();
    let budget = timeout
        .mul_f64(0.9)
        .saturating_sub(started.elapsed())
        .min(Duration::from_secs(5));
    let times = if reads.is_empty() || budget.is_zero() {
        HashMap::new()
    } else {
        let wanted = reads.clone();
        client
            .blocking(move |c| Ok(record_time::timestamps(c, &wanted, budget)))
            .await
            .unwrap_or_default()
    };
    let now_ms = snap.at * 1000.0;
    for p in unresolved {
        if let Some(ms) = times.get(&(p.topic.to_string(), p.partition)) {
            let seconds = ((now_ms - *ms as f64) / 1000.0).max(0.0);
            let key = (p.group.to_string(), p.topic.to_string());
            time_lag::fold(&mut behind, key, seconds, time_lag::RECORD_TIMESTAMP);
        }
    }
    let window = client.window();
    let rows: Vec<_> = by_topic(&snap.partitions)
        .into_keys()
        .filter_map(|(g, t)| {
            let mut e = window.estimate(&g, &t)?;
            let method = match behind.get(&(g.clone(), t.clone())) {
                Some((seconds, method)) => {
                    e.seconds_behind = Some(*seconds);
                    *method
                }
                None => time_lag::METHOD,
            };
            Some((g, t, e, method))
        })
        .collect();
    drop(window);
    let frame = Columns::over(&rows)
        .col("group", |r| r.0.clone())
        .col("topic", |r| r.1.clone())
        .col("lag", |r| r.2.lag)
        .shown("Lag", Some("short"))
        .opt("produceRate", |r| r.2.produce_rate)
        .shown("Produce rate", Some("wps"))
        .opt("consumeRate", |r| r.2.consume_rate)
        .shown("Consume rate", Some("wps"))
        .opt("secondsBehind", |r| r.2.seconds_behind)
        .shown("Time behind", Some("s"))
        .opt("drainSeconds", |r| r.2.drain_seconds)
        .shown("Drain time", Some("s"))
        .col("drains", |r| r.2.drains)
        .col("samples", |r| r.2.samples as u64)
        .col("windowSeconds", |r| r.2.window_seconds)
        .shown("Window", Some("s"))
        .col("method", |r| r.3)
        .frame("timeLag")
        .with_metadata(snapshot_meta(
            &snap,
            json!({
                "method": time_lag::METHOD,
                "methodNote": "per row: interpolation (when each partition's log end passed its committed offset, between sampled log ends), recordTimestamp (the record at the committed offset, for partitions behind further than the samples reach; at most 32 per query), offsetSampling (lag / produce rate); rates come from offsets sampled by this datasource",
                "maxSamples": time_lag::MAX_SAMPLES,
                "maxAgeSeconds": time_lag::MAX_AGE_SECONDS,
            }),
        ));
    Ok(vec![frame])
}
