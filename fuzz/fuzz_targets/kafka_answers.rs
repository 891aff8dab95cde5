//! What Kafka's admin API may answer, over several snapshots: groups listed and described (or
//! denied), committed offsets per group (or an error), partitions with or without a leader,
//! end offsets (or why not). Joined into groups and lag rows, summed, judged by Burrow's rules
//! over the sampled history and interpolated into time lag, as every consumer-lag query does.
//! librdkafka's own decoding is C and not fuzzed here; these are the Rust values it hands over.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pipeline_backend::kafka::admin::{
    AdminError, CommittedOffset, GroupDescription, ListedGroup, Member,
};
use pipeline_backend::kafka::answers::{apply_descriptions, lag_rows, select_groups};
use pipeline_backend::kafka::lag::{by_topic, totals};
use pipeline_backend::kafka::offsets::{
    GroupSource, LagSnapshot, Requests, SelectedPartition, Selection,
};
use pipeline_backend::kafka::status::{evaluate_with, limits, record_history};
use pipeline_backend::kafka::time_lag::by_interpolation;
use pipeline_model::consumer_status::{StatusHistory, DEFAULT_WINDOW};
use rdkafka::types::RDKafkaErrorCode;
use regex::Regex;

// Few names, so that groups, topics and partitions collide the way real answers do.
const GROUPS: &[&str] = &["enrich", "flink-roas", "billing", ""];
const TOPICS: &[&str] = &["orders", "clicks", "__consumer_offsets"];
const PATTERNS: &[&str] = &["flink-.*", ".*", "(", "e.*h"];
const CODES: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::GroupAuthorizationFailed,
    RDKafkaErrorCode::CoordinatorLoadInProgress,
    RDKafkaErrorCode::NotCoordinator,
    RDKafkaErrorCode::OperationTimedOut,
    RDKafkaErrorCode::UnknownTopicOrPartition,
    RDKafkaErrorCode::Fail,
];

fn pick<T: Copy>(from: &[T], i: u8) -> T {
    from[usize::from(i) % from.len()]
}

fn error(code: u8) -> AdminError {
    AdminError {
        code: pick(CODES, code),
        message: format!("{:?}", pick(CODES, code)),
    }
}

/// Each group's commits (topic, partition, offset), or the error code of its request.
type Commits = Result<Vec<(u8, u8, i64)>, u8>;

#[derive(Debug, Arbitrary)]
struct Round {
    seconds_later: u16,
    listed: Vec<(u8, u8, bool)>,
    described: Option<Result<Described, u8>>,
    offsets: Vec<Commits>,
    partitions: Vec<(u8, u8, i8)>,
    ends: Vec<(u8, u8, Result<i64, u8>)>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    named: Vec<u8>,
    pattern: Option<u8>,
    rounds: Vec<Round>,
}

fuzz_target!(|input: Input| {
    let sel = Selection {
        groups: input
            .named
            .iter()
            .map(|g| pick(GROUPS, *g).to_string())
            .collect(),
        group_pattern: input
            .pattern
            .and_then(|p| Regex::new(&format!("^(?:{})$", pick(PATTERNS, p))).ok()),
        topic_pattern: None,
    };
    let mut history = StatusHistory::new(limits(&DEFAULT_WINDOW));
    let mut at = 1.7e9;
    for round in input.rounds.into_iter().take(12) {
        at += f64::from(round.seconds_later);
        let listed = round
            .listed
            .iter()
            .map(|&(g, s, simple)| ListedGroup {
                name: pick(GROUPS, g).into(),
                state: pick(&["Stable", "Empty", "Dead", ""], s).into(),
                kind: pick(&["Classic", "Consumer", "Unknown"], s).into(),
                simple,
            })
            .collect();
        let mut groups = select_groups(listed, &sel);
        if let Some(described) = round.described {
            apply_descriptions(&mut groups, described.map(describe).map_err(error));
        }
        let offsets = round
            .offsets
            .into_iter()
            .map(|r| {
                r.map(|commits| {
                    commits
                        .into_iter()
                        .map(|(t, p, offset)| CommittedOffset {
                            topic: pick(TOPICS, t).into(),
                            partition: i32::from(p % 8),
                            offset,
                        })
                        .collect()
                })
                .map_err(error)
            })
            .collect();
        let partitions: Vec<SelectedPartition> = round
            .partitions
            .iter()
            .map(|&(t, p, leader)| SelectedPartition {
                topic: pick(TOPICS, t).into(),
                partition: i32::from(p % 8),
                leader: i32::from(leader),
            })
            .collect();
        let ends: HashMap<(String, i32), Result<i64, String>> = round
            .ends
            .into_iter()
            .map(|(t, p, r)| {
                let key = (pick(TOPICS, t).to_string(), i32::from(p % 8));
                (key, r.map_err(|c| error(c).to_string()))
            })
            .collect();
        let rows = lag_rows(&mut groups, offsets, &partitions, &ends);
        for r in &rows {
            assert!(r.lag.is_none_or(|l| l >= 0), "negative lag: {r:?}");
        }
        let _ = totals(&rows);
        let _ = by_topic(&rows);
        let snap = LagSnapshot {
            at,
            groups,
            partitions: rows,
            group_source: GroupSource::ListGroups,
            listing_error: None,
            requests: Requests::default(),
            elapsed: Duration::ZERO,
        };
        let statuses = evaluate_with(&history, &DEFAULT_WINDOW, &snap);
        assert_eq!(statuses.partitions.len(), snap.partitions.len());
        record_history(&mut history, &snap, DEFAULT_WINDOW.span_seconds);
        let _ = by_interpolation(&snap.partitions, snap.at, &history);
    }
});

/// Each described group: its state and held partitions (topic, partition), or an error code.
type Described = Vec<(u8, Result<(u8, Vec<(u8, u8)>), u8>)>;

fn describe(groups: Described) -> Vec<(String, Result<GroupDescription, AdminError>)> {
    groups
        .into_iter()
        .map(|(g, r)| {
            let name = pick(GROUPS, g).to_string();
            let d = r
                .map(|(state, held)| GroupDescription {
                    name: name.clone(),
                    state: pick(&["Stable", "PreparingRebalance", "Empty"], state).into(),
                    kind: "Classic".into(),
                    simple: held.is_empty(),
                    assignor: "range".into(),
                    coordinator: Some(1),
                    members: held
                        .chunks(2)
                        .enumerate()
                        .map(|(i, tps)| Member {
                            client_id: format!("consumer-{i}"),
                            consumer_id: format!("consumer-{i}-id"),
                            host: "/127.0.0.1".into(),
                            assignment: tps
                                .iter()
                                .map(|&(t, p)| (pick(TOPICS, t).to_string(), i32::from(p % 8)))
                                .collect(),
                        })
                        .collect(),
                })
                .map_err(error);
            (name, d)
        })
        .collect()
}
