//! Burrow-grade consumer status of the live job's group, made by real faults of the pipeline:
//! the Flink job slowed (its group WARN: commits arrive, lag grows at every commit), cancelled
//! (STOP: lag remains and no commit moves, and no member holds the partitions), its offsets
//! reset to earlier while it is down (REWIND), and resubmitted (OK again). The datasource's
//! status window is 40 s (8 of the job's checkpoints, every 5 s on the bed), so each verdict
//! comes within about a minute; its background sampler keeps the history between the test's
//! queries.
//!
//! The peer is Burrow itself: Debian's package (1.2.1, `/usr/bin/Burrow`), LinkedIn's
//! consumer-lag monitor and the reference implementation of these rules, which the datasource
//! follows. One Burrow for this test binary watches the same group on the same cluster through
//! the same faults. At each of our verdicts the test records what Burrow says at that moment,
//! then polls Burrow (bounded) until it says the corresponding thing, and prints one line per
//! fault with both verdicts and the seconds each took from the fault (`ours vs Burrow:`).
//!
//! The two judge different facts. Burrow judges the lag it stores with each commit it reads
//! from `__consumer_offsets` (the log end it last fetched minus the commit, 0 when that log end
//! is older than the commit), over its last `intervals` commits; we judge committed offsets and
//! log ends that we sample together with OffsetFetch and ListOffsets, over a 40 s window. And
//! Burrow 1.2.1 applies its rules in its own order: STOP first, then "a commit of the window
//! at lag 0 makes the partition OK", and only then REWIND, STALL, WARN. The test asserts
//! agreement where the two coincide: STOP after the cancel (Burrow: no commit for longer than
//! its window spans, checked ahead of its zero-lag rule; ours: no commit moved over the window,
//! and our samples, taken between commits, are not at lag 0 while the generator produces),
//! and OK on the healthy job and once it runs again. On the slowed job the comparison is
//! printed, not asserted: Burrow's WARN needs every one of a partition's last 8 commits at a
//! lag no lower than the one before, and a slowed job that still drains its 18 partitions in
//! turn lets some partition's lag dip between two commits, on a loaded 2-core machine for
//! minutes (CI saw Burrow OK on all 18 partitions at a total lag of 2310 and growing). REWIND
//! is where they differ, by rule order and by facts; see the reset in
//! [`a_cancelled_job_makes_its_group_stop_a_reset_rewind_and_a_resubmit_ok`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::*;
use pipeline_tests::bed::burrow::{Burrow, BurrowGroupStatus, BurrowOptions};
use pipeline_tests::bed::kafka_tools::{kafka_tool_ok, CONSUMER_GROUP_COMMAND};
use pipeline_tests::cause_watch::{until_cause, CauseSeen};

mod peer;

use peer::*;

const WINDOW_SECONDS: u64 = 40;
/// A window to fill, a checkpoint or two, and the load of the 2-core bed.
const VERDICT_BOUND: Duration = Duration::from_secs(WINDOW_SECONDS * 4);

/// Burrow's window: the last 8 commits of each partition. The job commits on its checkpoints,
/// every 5 s on the bed (`FlinkOptions::checkpoint_interval`; roas.sql's 10 s is overridden),
/// so 8 commits span 35 s, about our 40 s window: Burrow's STOP (no commit for longer than the
/// window spans) comes about 35 s after the last commit, and a rewound commit leaves the window
/// after 7 new ones, both well within the bounds. 4 commits would span 15 s and make Burrow
/// quicker than us only because it looks at less; Burrow's usual 10 would span 45 s.
const BURROW_INTERVALS: u32 = 8;
/// Seconds between Burrow's fetches of the log ends (its usual 10 is too coarse for a job that
/// commits every 5 s): the lag it stores with a commit is against the last one, and it holds
/// back STOP while one of its last `intervals` fetches shows the log end at or below the last
/// commit, which at 10 s would hold STOP back for up to 80 s.
const BURROW_OFFSET_REFRESH: u32 = 1;
/// Burrow reads `__consumer_offsets` from its start before it lists the group.
const BURROW_LISTED_BOUND: Duration = Duration::from_secs(120);
/// After our verdict, how long Burrow may still take to say the same: its window (35 s) filled
/// with commits that show it, which for WARN took up to 70 s after ours on the 2-core bed.
const BURROW_AFTER_BOUND: Duration = Duration::from_secs(120);

fn status_datasource() -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": bed().kafka().bootstrap(),
        "flinkUrl": bed().roas.flink().rest_url(),
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": WINDOW_SECONDS,
    }))
}

/// The group's row of a `consumerLag` answer and its partitions' statuses.
async fn group_status(
    host: &PluginHost,
    ds: &DatasourceConfig,
) -> (HashMap<String, Value>, Vec<String>) {
    let answer = host
        .query_one(ds, "consumerLag", json!({"groups": [GROUP]}))
        .await;
    assert!(answer.error.is_empty(), "{answer:#?}");
    let row = answer
        .frame("groups")
        .find_row("group", GROUP)
        .expect("the group's row");
    let parts = rows(answer.frame("partitions"))
        .iter()
        .map(|r| r["consumerStatus"].as_str().unwrap_or("-").to_string())
        .collect();
    (row, parts)
}

/// Asks every 3 s until the group's status is `want`, polling Burrow beside it; returns the
/// row and the seconds it took from `peer`'s fault.
async fn until_status(
    host: &PluginHost,
    ds: &DatasourceConfig,
    want: &str,
    peer: &mut Peer,
) -> (HashMap<String, Value>, f64) {
    let deadline = Instant::now() + VERDICT_BOUND;
    loop {
        let (row, parts) = group_status(host, ds).await;
        peer.poll();
        if row["consumerStatus"] == want {
            return (row, peer.since.elapsed().as_secs_f64());
        }
        assert!(
            Instant::now() < deadline,
            "group {GROUP} not {want} within {} s; last: {row:?}, partitions {parts:?}; Burrow: {}",
            VERDICT_BOUND.as_secs(),
            peer.now_text()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Both verdicts OK on the healthy job before a fault is made (Burrow's with full windows, so
/// that its timings are those of the window the constants describe); our group's row.
async fn both_ok_before(host: &PluginHost, ds: &DatasourceConfig) -> HashMap<String, Value> {
    let mut peer = Peer::new("healthy job", "OK", burrow_ok_full);
    let (row, after) = until_status(host, ds, "OK", &mut peer).await;
    peer.settle(host, ds, "OK", after).await;
    peer.assert_agrees();
    row
}

/// The offsets Kafka's reset tool printed it set (`GROUP TOPIC PARTITION NEW-OFFSET`).
fn new_offsets(out: &str) -> BTreeMap<(String, i32), i64> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [g, t, p, o] if *g == GROUP => {
                    Some(((t.to_string(), p.parse().ok()?), o.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// What Burrow made of the reset, once it holds the reset offsets as the last commit of every
/// partition and has judged them (the evaluation 2 s or more after): for each partition the
/// reset moved back, its status, whether its window holds a commit stored at lag 0, and how
/// many of the window's commits before the reset were stored at lag 0 of how many.
struct ResetSeen {
    partitions: Vec<(String, i32, String, bool)>,
    zero_lag_commits: (usize, usize),
    raw: String,
}

/// `Some` once Burrow holds `reset` and has judged it; `held` is when it was first seen held.
fn reset_seen(
    peer: &Peer,
    reset: &BTreeMap<(String, i32), i64>,
    held: &mut Option<Instant>,
) -> Option<ResetSeen> {
    let windows = burrow().windows(GROUP)?;
    let last = |t: &str, p: i32| {
        windows
            .iter()
            .find(|w| w.topic == t && w.partition == p)
            .and_then(|w| w.commits.last().map(|c| c.offset))
    };
    if !reset.iter().all(|((t, p), o)| last(t, *p) == Some(*o)) {
        return None;
    }
    // Its evaluations are cached for a second: judge one made after it held the reset.
    let since = *held.get_or_insert_with(Instant::now);
    if since.elapsed() < Duration::from_secs(2) {
        return None;
    }
    let status = peer.last.as_ref()?;
    let mut partitions = Vec::new();
    let mut zero_lag_commits = (0, 0);
    for w in &windows {
        let Some((reset_commit, before)) = w.commits.split_last() else {
            continue;
        };
        if !before.iter().any(|c| c.offset > reset_commit.offset) {
            continue;
        }
        zero_lag_commits.0 += before.iter().filter(|c| c.lag == 0).count();
        zero_lag_commits.1 += before.len();
        let s = status
            .partitions
            .iter()
            .find(|(t, p, _)| *t == w.topic && *p == w.partition)
            .map_or("?".to_string(), |(_, _, s)| s.clone());
        let zero = w.commits.iter().any(|c| c.lag == 0);
        partitions.push((w.topic.clone(), w.partition, s, zero));
    }
    Some(ResetSeen {
        partitions,
        zero_lag_commits,
        raw: format!("{windows:?}"),
    })
}

/// Puts the job back (unslowed, running) when a test ends, also when it fails half-way.
struct RestoreJob;

impl Drop for RestoreJob {
    fn drop(&mut self) {
        let roas = &bed().roas;
        roas.unslow_operator();
        let state = roas.flink().state_of(&roas.job_id());
        if state.as_deref() != Some("RUNNING") {
            roas.submit_job();
        }
    }
}

/// Burrow's WARN: the lag it stored with every commit of its window is non-zero and never
/// falls from one commit to the next (and no partition is worse); ours: the lag we sample
/// where the committed offset moved never falls over our window. Burrow stores nearly every
/// commit of the healthy job at lag 0 (the job is at the log end when it checkpoints), but the
/// slowed job's commits fall behind a backlog that grows at each of them, which both see: in
/// every run so far Burrow said WARN too, mostly 20 to 70 s after us (it needs all 8 commits
/// of its window from the slowed time), once before us; so it is asserted, within
/// [`BURROW_AFTER_BOUND`] of ours. Neither holds WARN for the whole slowdown: a commit whose
/// lag fell puts either back to OK for a while (and a quiet partition's unmoving commits can
/// give Burrow a STALL, an ERR), so the printed line says what each said when the other did.
#[tokio::test]
async fn a_slowed_job_makes_its_group_warn_and_recovers_to_ok() {
    let _exclusive = GENERATOR.write().await;
    let _restore = RestoreJob;
    burrow();
    let host = PluginHost::start().await;
    let ds = status_datasource();
    both_ok_before(&host, &ds).await;
    // OK by status; its overall verdict too once a job started by an earlier test has
    // committed every partition (its first checkpoints may leave some without a commit).
    let deadline = Instant::now() + VERDICT_BOUND;
    loop {
        let (row, _) = group_status(&host, &ds).await;
        if row["status"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the healthy job's group: {row:?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // ~13 clicks/s; 1 s per click in the join leaves ~2/s, under 2 records per partition
    // between two checkpoints against ~11 arriving: lag grows at every checkpoint on each
    // partition even when the source drains them in turn, so WARN comes as the window fills
    // (39 s on a loaded bed). At 300 ms a loaded CI saw every partition's lag dip between two
    // commits for 160 s; at 600 ms WARN took 90 s. Held for minutes, some partition stops
    // moving and the group turns ERR (STALL), so WARN is asserted when first seen.
    let mut peer = Peer::new("slowed job", "WARN", burrow_warn);
    bed().roas.slow_operator(Duration::from_secs(1));
    let (row, warn_after) = until_status(&host, &ds, "WARN", &mut peer).await;
    assert_eq!(row["status"], "warning", "WARN is a warning: {row:?}");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("WARN on") && reason.contains("lag never fell"),
        "{reason}"
    );
    // Printed for the record; Burrow's stricter per-partition WARN is not asserted (header).
    peer.settle(&host, &ds, "WARN", warn_after).await;

    let mut peer = Peer::new("unslowed job", "OK", burrow_ok);
    bed().roas.unslow_operator();
    let (_, ok_after) = until_status(&host, &ds, "OK", &mut peer).await;
    peer.settle(&host, &ds, "OK", ok_after).await;
    peer.assert_agrees();
    eprintln!("slowed: WARN after {warn_after:.0} s; unslowed: OK after {ok_after:.0} s");
}

/// The `node` labels of the `health` series, sorted; panics on a duplicate (Grafana alerting
/// rejects two series with one label set).
async fn health_series_keys(host: &PluginHost, ds: &DatasourceConfig) -> Vec<String> {
    let answer = host.query_one(ds, "health", json!({})).await;
    let frame = answer.frame("health");
    let mut keys: Vec<String> = (0..frame.len())
        .map(|i| {
            frame.row(i)["node"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "a series twice in {keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("flink-")), "{keys:?}");
    keys
}

#[tokio::test]
async fn a_cancelled_job_makes_its_group_stop_a_reset_rewind_and_a_resubmit_ok() {
    let _exclusive = GENERATOR.write().await;
    let _restore = RestoreJob;
    burrow();
    let host = PluginHost::start().await;
    let ds = status_datasource();
    both_ok_before(&host, &ds).await;
    let series_before = health_series_keys(&host, &ds).await;

    let mut peer = Peer::new("cancelled job", "STOP", burrow_stop);
    bed().roas.cancel_job();
    let cancelled_at = Instant::now();
    let (row, stop_after) = until_status(&host, &ds, "ERR", &mut peer).await;
    assert_eq!(row["status"], "critical", "{row:?}");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("STOP on") && reason.contains("no live member holds the partition"),
        "the group stopped, nobody holds its partitions: {reason}"
    );
    peer.settle(&host, &ds, "STOP", stop_after).await;
    peer.assert_agrees();

    // The `health` series alert rules read: the group's node is critical (2).
    let health = host.query_one(&ds, "health", json!({})).await;
    let node = health
        .frame("health")
        .find_row("node", &format!("consumer-group/{GROUP}"))
        .expect("the group's health series");
    assert_eq!(node["status"].as_f64(), Some(2.0), "{node:?}");

    // The root cause is the job, not its group: the group STOPs because the job is gone.
    let (seen, _) = until_cause(&host, &ds, "the cancelled job named", VERDICT_BOUND, |c| {
        c.code.as_deref() == Some("job-not-running") && c.victims.contains(&group_id())
    })
    .await;
    let named_after = cancelled_at.elapsed().as_secs_f64();
    let sentence = seen.sentence.clone().unwrap_or_default();
    assert!(
        sentence.starts_with(&format!("job {JOB_NAME} is CANCELED"))
            && sentence.contains(&format!("group {GROUP}")),
        "{sentence}"
    );
    assert!(
        seen.nodes.iter().all(|id| id.starts_with("flink/")),
        "{seen:?}"
    );

    // What an operator does to replay: move the group's offsets back with Kafka's own tool.
    let mut peer = Peer::new("offsets reset", "REWIND", burrow_rewind);
    let out = kafka_tool_ok(
        CONSUMER_GROUP_COMMAND,
        &[
            "--bootstrap-server",
            &bed().kafka().bootstrap(),
            "--group",
            GROUP,
            "--reset-offsets",
            "--all-topics",
            "--shift-by",
            "-20",
            "--execute",
        ],
    );
    let reset = new_offsets(&out);
    assert!(!reset.is_empty(), "the tool's new offsets: {out}");
    let deadline = Instant::now() + VERDICT_BOUND;
    let rewind_after = loop {
        let (row, parts) = group_status(&host, &ds).await;
        peer.poll();
        if parts.iter().any(|p| p == "REWIND") {
            assert_eq!(row["consumerStatus"], "ERR", "{row:?}");
            break peer.since.elapsed().as_secs_f64();
        }
        assert!(
            Instant::now() < deadline,
            "no partition REWIND: {row:?} {parts:?}; Burrow: {}",
            peer.now_text()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    // Burrow's REWIND is not ours. Burrow 1.2.1 judges a partition STOP first, then OK if a
    // commit of its window was stored at lag 0, and only then REWIND; ours puts REWIND ahead
    // of the zero-lag rule (a reset often follows a time at no lag). The healthy job is at the
    // log end when it checkpoints and its commit lands before Burrow's next fetch of the log
    // ends, so Burrow stores most of its commits at lag 0 (107 to 126 of 126 in three runs,
    // every window with some). After the reset Burrow's window is the running job's last 7
    // commits and the reset, so Burrow says OK (from STOP) on the rewound partitions, REWIND
    // only on one none of whose commits was stored at lag 0, and STOP again once the window's
    // span has passed without a commit. What is asserted: Burrow reads the reset commits, and says REWIND on every
    // rewound partition whose window holds no commit at lag 0, OK on every one whose does.
    let mut held = None;
    let mut seen = None;
    peer.settle_or(&host, &ds, "REWIND", rewind_after, |peer| {
        let s = reset_seen(peer, &reset, &mut held)?;
        let word = format!(
            "{} of {} commits of the running job in its windows stored at lag 0",
            s.zero_lag_commits.0, s.zero_lag_commits.1
        );
        seen = Some(s);
        Some(word)
    })
    .await;
    if peer.first.is_none() {
        let seen = seen.unwrap_or_else(|| {
            panic!(
                "Burrow never held the reset offsets {reset:?} as the last commits; {}",
                peer.raw()
            )
        });
        for (topic, partition, status, zero) in &seen.partitions {
            let expected = if *zero { "OK" } else { "REWIND" };
            assert_eq!(
                status,
                expected,
                "Burrow on rewound {topic}[{partition}] (a commit at lag 0 in its window: \
                 {zero}); windows {}; evaluation {}",
                seen.raw,
                peer.raw()
            );
        }
    }

    let mut peer = Peer::new("resubmitted job", "OK", burrow_ok);
    bed().roas.submit_job();
    let (row, ok_after) = until_status(&host, &ds, "OK", &mut peer).await;
    // The group's overall verdict may still warn of the lag left to work off (its size
    // against the lag thresholds), never worse.
    assert_ne!(row["status"], "critical", "{row:?}");
    peer.settle(&host, &ds, "OK", ok_after).await;
    peer.assert_agrees();
    let (_, green_after) = until_cause(
        &host,
        &ds,
        "green after the resubmit",
        VERDICT_BOUND,
        CauseSeen::green,
    )
    .await;
    // An alert rule's series survive the resubmission: the new job (a new Flink job id) gives
    // the same `health` series, one each.
    assert_eq!(health_series_keys(&host, &ds).await, series_before);
    eprintln!(
        "cancelled: STOP after {stop_after:.0} s; reset: REWIND after {rewind_after:.0} s; resubmitted: OK after {ok_after:.0} s"
    );
    eprintln!(
        "root cause: cancelled job named after {named_after:.0} s ({sentence}); green {:.0} s \
         after the resubmitted job's group was OK",
        green_after.as_secs_f64()
    );
}
