//! Flink queries against a real Apache Flink 2.3 MiniCluster (tests/flink-jobs/PipelineJobs.java)
//! through the spawned backend: real backpressure from a slow operator, real watermarks (one
//! job's frozen), real checkpoints (one job's always failing), a real TaskManager.
//!
//! One cluster serves every test of this file. Tests poll until Flink has sampled what they
//! check (its metric store refreshes every second); the bound only stops a broken setup.

use std::time::{Duration, Instant};

use pipeline_tests::flink_cluster::{pipeline_cluster, FlinkCluster};
use pipeline_tests::{Answer, DatasourceConfig, DecodedFrame, PluginHost, Query};
use serde_json::{json, Value};

/// How long to wait for Flink to have numbers (sampling, first checkpoints) before failing.
const SETTLE_BOUND: Duration = Duration::from_secs(60);

fn cluster() -> &'static FlinkCluster {
    pipeline_cluster()
}

fn datasource() -> DatasourceConfig {
    DatasourceConfig::new(json!({ "flinkUrl": cluster().rest_url(), "queryTimeoutSeconds": 10 }))
}

/// Re-run a query until `ready` accepts its answer; panics with the last answer after the bound.
async fn until(
    host: &PluginHost,
    ds: &DatasourceConfig,
    query_type: &str,
    q: Value,
    ready: impl Fn(&Answer) -> bool,
) -> Answer {
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let answer = host.query_one(ds, query_type, q.clone()).await;
        if ready(&answer) {
            return answer;
        }
        if Instant::now() > deadline {
            panic!("{query_type} never settled; last answer: {answer:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn row(
    frame: &DecodedFrame,
    column: &str,
    prefix: &str,
) -> std::collections::HashMap<String, Value> {
    (0..frame.len())
        .map(|i| frame.row(i))
        .find(|r| r[column].as_str().is_some_and(|s| s.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no row with {column} starting with {prefix:?} in {frame:?}"))
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn backpressure_blames_the_slow_operator_not_its_victims() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let answer = until(
        &host,
        &ds,
        "backpressure",
        json!({"job": "pipeline-1"}),
        |a| {
            a.error.is_empty()
                && a.frames
                    .iter()
                    .find(|f| f.name == "vertices")
                    .is_some_and(|f| f.field("bottleneck").values.contains(&json!(true)))
        },
    )
    .await;
    let vertices = answer.frame("vertices");
    assert_eq!(vertices.len(), 2, "two vertices in pipeline-1");

    let source = row(vertices, "vertex", "Source: clicks");
    assert!(f64_of(&source["backpressure"]) >= 0.5, "{source:?}");
    assert_eq!(source["level"], "high");
    assert_eq!(source["bottleneck"], false);
    assert_ne!(
        source["status"], "ok",
        "a backpressured vertex is not healthy"
    );

    let slow = row(vertices, "vertex", "slow-score");
    assert_eq!(slow["bottleneck"], true);
    assert!(f64_of(&slow["busy"]) >= 0.5, "{slow:?}");
    assert!(f64_of(&slow["backpressure"]) < 0.5, "{slow:?}");

    let meta = &vertices.meta["custom"]["bottlenecks"];
    assert_eq!(meta.as_array().map(Vec::len), Some(1), "{meta}");
    assert!(meta[0]["vertex"]
        .as_str()
        .unwrap()
        .starts_with("slow-score"));
    assert_eq!(meta[0]["job"], "pipeline-1");

    let bp = vertices.field("backpressure");
    assert_eq!(bp.config["unit"], "percentunit");
    assert_eq!(bp.config["displayName"], "Backpressure");

    let subtasks = answer.frame("subtasks");
    assert_eq!(subtasks.len(), 4, "parallelism 2 x two vertices");
    let source_subtasks = (0..subtasks.len())
        .map(|i| subtasks.row(i))
        .filter(|r| r["vertex"].as_str().unwrap().starts_with("Source"))
        .count();
    assert_eq!(source_subtasks, 2);
}

#[tokio::test]
async fn watermarks_advance_and_the_frozen_one_is_called_stalled() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let q = json!({
        "job": "pipeline-1|pipeline-stalled-watermarks",
        "vertex": "slow-score.*",
        "thresholds": {"watermarkStalledSeconds": 2}
    });
    // First reading: both jobs' slow-score inputs have a watermark.
    let first = until(&host, &ds, "watermarks", q.clone(), |a| {
        a.error.is_empty()
            && a.frames
                .iter()
                .find(|f| f.name == "watermarks")
                .is_some_and(|f| {
                    f.len() == 2 && f.field("watermark").values.iter().all(|v| !v.is_null())
                })
    })
    .await;
    let first = first.frame("watermarks").clone();
    // Then until the healthy job's watermark has moved on and the frozen one has stood still
    // past the threshold (a loaded machine can hold the healthy one back for a while).
    let answer = until(&host, &ds, "watermarks", q, |a| {
        let Some(f) = a.frames.iter().find(|f| f.name == "watermarks") else {
            return false;
        };
        let moving = f.find_row("job", "pipeline-1");
        let frozen = f.find_row("job", "pipeline-stalled-watermarks");
        moving.is_some_and(|m| m["advanced"] == true)
            && frozen.is_some_and(|r| r["stalledFor"].as_f64().unwrap_or(0.0) >= 2.0)
    })
    .await;
    let frame = answer.frame("watermarks");

    let moving = row(frame, "job", "pipeline-1");
    assert_eq!(moving["advanced"], true, "{moving:?}");
    assert_eq!(f64_of(&moving["stalledFor"]), 0.0);
    assert!(f64_of(&moving["lag"]) < 30.0, "{moving:?}");
    // Its status is the vertex's whole verdict (in this job it is also the bottleneck), so the
    // watermark's part is read from the reason: nothing about the watermark.
    assert!(
        !moving["reason"].as_str().unwrap().contains("watermark"),
        "{moving:?}"
    );
    assert!(
        f64_of(&moving["watermark"]) > f64_of(&row(&first, "job", "pipeline-1")["watermark"]),
        "the watermark value itself moved"
    );

    let stalled = row(frame, "job", "pipeline-stalled-watermarks");
    assert_eq!(stalled["advanced"], false, "{stalled:?}");
    assert!(f64_of(&stalled["stalledFor"]) >= 2.0, "{stalled:?}");
    assert_eq!(stalled["status"], "critical");
    assert!(
        stalled["reason"].as_str().unwrap().contains("not advanced"),
        "{stalled:?}"
    );
    assert_eq!(frame.field("lag").config["unit"], "s");
}

#[tokio::test]
async fn sources_have_no_input_watermark() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let answer = host
        .query_one(
            &ds,
            "watermarks",
            json!({"job": "pipeline-1", "vertex": "Source.*"}),
        )
        .await;
    let frame = answer.frame("watermarks");
    assert_eq!(frame.len(), 1);
    let source = frame.row(0);
    assert_eq!(source["inputs"], 0);
    assert!(source["watermark"].is_null(), "{source:?}");
}

#[tokio::test]
async fn checkpoints_complete_and_the_failing_job_is_critical() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let answer = until(
        &host,
        &ds,
        "checkpoints",
        json!({"job": "pipeline-1|pipeline-slow-checkpoints", "thresholds": {"checkpointIntervalSeconds": 1}}),
        |a| {
            a.error.is_empty()
                && a.frames.iter().find(|f| f.name == "checkpoints").is_some_and(|f| {
                    (0..f.len()).all(|i| {
                        let r = f.row(i);
                        // Settled: a checkpoint completed, or a failure with Flink's reason.
                        f64_of(&r["completed"]) >= 1.0 || !r["lastFailure"].is_null()
                    })
                })
        },
    )
    .await;
    let frame = answer.frame("checkpoints");
    assert_eq!(frame.len(), 2);

    let good = row(frame, "job", "pipeline-1");
    assert!(f64_of(&good["completed"]) >= 1.0, "{good:?}");
    assert!(f64_of(&good["lastCompletedAge"]) < 30.0, "{good:?}");
    assert!(f64_of(&good["lastStateSize"]) >= 0.0);
    assert_eq!(good["status"], "ok", "{good:?}");

    let bad = row(frame, "job", "pipeline-slow-checkpoints");
    assert_eq!(bad["completed"], 0, "{bad:?}");
    assert!(f64_of(&bad["failed"]) >= 1.0, "{bad:?}");
    assert!(bad["lastCompletedAge"].is_null());
    assert_eq!(bad["status"], "critical", "{bad:?}");
    assert!(
        !bad["lastFailure"].as_str().unwrap_or_default().is_empty(),
        "{bad:?}"
    );
    assert_eq!(frame.field("lastDuration").config["unit"], "ms");
}

#[tokio::test]
async fn task_manager_reports_heap_and_slots() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let answer = until(&host, &ds, "taskManagers", json!({}), |a| {
        a.error.is_empty()
            && a.frames
                .first()
                .is_some_and(|f| f.len() == 1 && !f.field("heapUsed").values[0].is_null())
    })
    .await;
    let tm = answer.frame("taskManagers").row(0);
    assert!(f64_of(&tm["heapUsed"]) > 0.0, "{tm:?}");
    assert!(f64_of(&tm["heapMax"]) >= f64_of(&tm["heapUsed"]), "{tm:?}");
    assert_eq!(tm["slots"], 6, "3 jobs x parallelism 2");
    assert_eq!(tm["freeSlots"], 0);
    assert_eq!(
        answer.frame("taskManagers").field("heapUsed").config["unit"],
        "bytes"
    );
}

#[tokio::test]
async fn jobs_graph_and_editor_resources_describe_the_running_jobs() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let jobs = host.query_one(&ds, "jobs", json!({})).await;
    let frame = jobs.frame("jobs");
    let names: Vec<_> = frame.field("name").values.clone();
    for name in [
        "pipeline-1",
        "pipeline-stalled-watermarks",
        "pipeline-slow-checkpoints",
    ] {
        assert!(names.contains(&json!(name)), "{names:?}");
    }
    assert!(frame.field("state").values.iter().all(|s| s == "RUNNING"));

    let graph = host
        .query_one(&ds, "jobGraph", json!({"job": "pipeline-1"}))
        .await;
    let nodes = graph.frame("nodes");
    let edges = graph.frame("edges");
    assert_eq!(nodes.meta["preferredVisualisationType"], "nodeGraph");
    assert_eq!(nodes.len(), 2);
    assert_eq!(edges.len(), 1);
    let edge = edges.row(0);
    assert_eq!(edge["mainstat"], "REBALANCE");
    let source = row(nodes, "title", "Source: clicks");
    let slow = row(nodes, "title", "slow-score");
    assert_eq!(edge["source"], source["id"]);
    assert_eq!(edge["target"], slow["id"]);
    assert_eq!(slow["subtitle"], "pipeline-1");

    let (status, listing) = host.resource(&ds, "/flink/jobs").await;
    assert_eq!(status, 200, "{listing}");
    let listed = listing["jobs"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listing}");
    let id = cluster()
        .job_ids()
        .into_iter()
        .find(|(n, _)| n == "pipeline-1")
        .unwrap()
        .1;
    assert!(listed
        .iter()
        .any(|j| j["id"] == id.as_str() && j["state"] == "RUNNING"));
    let (status, vertices) = host
        .resource(&ds, &format!("/flink/jobs/{id}/vertices"))
        .await;
    assert_eq!(status, 200, "{vertices}");
    let names: Vec<_> = vertices["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("Source: clicks")),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_bad_job_pattern_fails_alone() {
    let ds = datasource();
    let host = PluginHost::start().await;
    let answers = host
        .query(
            &ds,
            &[
                Query::new("A", "backpressure", json!({"job": "pipeline-(1"})),
                Query::new("B", "jobs", json!({"job": "pipeline-1"})),
            ],
        )
        .await;
    let bad = &answers["A"];
    assert!(bad.error.contains("field `job`"), "{bad:?}");
    assert!(bad.error.contains("regex"), "{bad:?}");
    assert_eq!(answers["B"].frame("jobs").len(), 1);
}
