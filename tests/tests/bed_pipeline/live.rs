//! A wall screen on Grafana Live: one topology query with `live` on, then nothing but the
//! stream. A TaskManager is killed and started again while the screen only listens; the
//! pushes alone must name the restarting job as the root cause and then turn green, with the
//! same nodes (ids) from push to push.

use std::collections::BTreeSet;

use super::*;
use pipeline_tests::cause_watch::until_cause;
use pipeline_tests::live_stream::{channel_path, LiveStream};
use pipeline_tests::{panel_fixtures, Answer, DecodedFrame, PluginHost};
use serde_json::{json, Value};

/// How often the screen's query asks to be pushed a new topology.
const EVERY_S: u64 = 2;

fn seen(frame: DecodedFrame) -> CauseSeen {
    let answer = Answer {
        status: 200,
        error: String::new(),
        frames: vec![frame],
    };
    CauseSeen::of(&answer).expect("a pushed nodes frame reads like an answer")
}

fn ids(seen: &CauseSeen) -> BTreeSet<String> {
    seen.rows
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// What [`until_pushed`] saw: the push it waited for (as sent), when, after how many.
struct Waited {
    seen: CauseSeen,
    json: Value,
    took: Duration,
    pushes: usize,
}

/// Reads pushes until one satisfies `ok`; every push must come within two intervals and a
/// refresh's time.
async fn until_pushed(
    stream: &mut LiveStream,
    what: &str,
    bound: Duration,
    ok: impl Fn(&CauseSeen) -> bool,
) -> Waited {
    let started = Instant::now();
    let mut pushes = 0;
    loop {
        let pushed = stream
            .next_push(Duration::from_secs(2 * EVERY_S + 20))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        pushes += 1;
        assert_eq!(pushed.frame.name, "nodes");
        let s = seen(pushed.frame);
        if ok(&s) {
            return Waited {
                seen: s,
                json: pushed.json,
                took: started.elapsed(),
                pushes,
            };
        }
        assert!(
            started.elapsed() < bound,
            "{what}: not pushed within {} s; last: {}",
            bound.as_secs(),
            s.summary()
        );
    }
}

#[test]
fn a_live_topology_shows_a_lost_taskmanager_and_its_return_without_a_query() {
    let (_turn, bed) = pipeline();
    let (runtime, host) = PluginHost::start_blocking();
    let ds = roas_datasource(bed.kafka_bootstrap(), &bed.flink().rest_url());
    runtime.block_on(async {
        until_cause(
            &host,
            &ds,
            "green before the screen opens",
            GREEN_BOUND,
            CauseSeen::green,
        )
        .await;
        let answer = host
            .query_one(
                &ds,
                "topology",
                json!({"live": true, "liveIntervalSeconds": EVERY_S}),
            )
            .await;
        let first = CauseSeen::of(&answer).unwrap();
        let nodes = channel_path(answer.frame("nodes")).expect("the nodes frame's channel");
        let edges = channel_path(answer.frame("edges")).expect("the edges frame's channel");
        assert_eq!(host.subscribe_stream(&ds, &nodes).await, 0);
        let mut node_pushes = host.run_stream(&ds, &nodes).await.unwrap();
        let mut edge_pushes = host.run_stream(&ds, &edges).await.unwrap();
        let pushed_edges = edge_pushes
            .next_frame(Duration::from_secs(2 * EVERY_S + 20))
            .await
            .unwrap();
        assert_eq!(pushed_edges.name, "edges");
        assert_eq!(pushed_edges.len(), answer.frame("edges").len());
        let green = until_pushed(
            &mut node_pushes,
            "a green push",
            GREEN_BOUND,
            CauseSeen::green,
        )
        .await;
        assert_eq!(ids(&green.seen), ids(&first), "the same nodes, pushed");

        let killed = bed.kill_taskmanager();
        eprintln!("live: killed TaskManager {killed}");
        let lost = until_pushed(
            &mut node_pushes,
            "the restarting job pushed",
            CAUSE_BOUND,
            // The restarting job named is what the screen must show. The sentence quotes
            // Flink's newest exception: the lost TaskManager, or after a JobManager pause
            // (the test before, on CI) "could not acquire the minimum required resources";
            // naming the TaskManager is `faults::a_killed_taskmanager_...`'s to prove.
            |c| named(c, "job-restarting"),
        )
        .await;
        assert_eq!(
            ids(&lost.seen),
            ids(&first),
            "nodes keep their ids through the fault"
        );
        // The browser suite replays these through Grafana's StreamingDataFrame.
        panel_fixtures::save_live(
            "roas-live",
            &answer.frames,
            std::slice::from_ref(&lost.json),
        );
        bed.start_taskmanager();
        let back = until_pushed(
            &mut node_pushes,
            "green pushed again",
            GREEN_BOUND,
            CauseSeen::green,
        )
        .await;
        eprintln!(
            "live: the restarting job pushed after {:.0} s ({} pushes, every {EVERY_S} s: {}); \
             green pushed {:.0} s after a new one started",
            lost.took.as_secs_f64(),
            lost.pushes,
            lost.seen.sentence.unwrap_or_default(),
            back.took.as_secs_f64()
        );
    });
    bed.flink()
        .wait_job_running(&bed.job_id(), Duration::from_secs(120));
}
