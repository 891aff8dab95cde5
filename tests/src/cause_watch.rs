//! The datasource's reading of the live ROAS pipeline of the bed: one topology query through
//! the real plugin binary, reduced to what an on-call engineer looks at (the pipeline's
//! verdict, the root cause's code and sentence, its nodes and its victims). The bed's fault
//! tests make a fault for real and poll this until the expected cause is named, then until
//! the pipeline is green again, and report both times.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pipeline_model::frame_contract::{frames, node_fields, node_meta};
use serde_json::{json, Value};

use crate::bed::roas::{GROUP, JOB_NAME, TOPICS};
use crate::{Answer, DatasourceConfig, DecodedFrame, PluginHost};

/// Where the bed's job writes, as the datasource's pipeline description names it.
pub const DATABASE: &str = "PostgreSQL pipeline.roas_by_campaign";

/// The datasource a user of the bed's pipeline sets up: both upstreams, the job's sink named
/// as its PostgreSQL table, and a 40 s status window (8 of the bed's 5 s checkpoints), so a
/// stopped group is judged STOP within about a minute.
pub fn roas_datasource(kafka_bootstrap: &str, flink_url: &str) -> DatasourceConfig {
    DatasourceConfig::new(json!({
        "kafkaBootstrapServers": kafka_bootstrap,
        "flinkUrl": flink_url,
        "queryTimeoutSeconds": 20,
        "kafkaStatusWindowSeconds": 40,
        "pipeline": {"jobs": [{
            "job": JOB_NAME, "group": GROUP, "topics": TOPICS,
            "sinks": [{"database": DATABASE}]
        }]},
    }))
}

/// One topology answer, as the user reads it.
#[derive(Debug, Clone)]
pub struct CauseSeen {
    /// The pipeline's verdict: ok, warning, critical, unknown.
    pub verdict: String,
    /// The root cause's reason code, `None` when all is well.
    pub code: Option<String>,
    pub sentence: Option<String>,
    /// Ids of the root cause's nodes, the main one first.
    pub nodes: Vec<String>,
    pub victims: Vec<String>,
    /// Every node's row of the `nodes` frame.
    pub rows: Vec<HashMap<String, Value>>,
    /// The answer's frames as they came (for [`crate::panel_fixtures`]).
    pub frames: Vec<DecodedFrame>,
}

impl CauseSeen {
    pub fn of(answer: &Answer) -> Result<CauseSeen, String> {
        if !answer.error.is_empty() {
            return Err(format!("query failed: {}", answer.error));
        }
        let frame = answer
            .frames
            .iter()
            .find(|f| f.name == frames::NODES)
            .ok_or("no nodes frame")?;
        let meta = &frame.meta["custom"];
        let text = |key: &str| meta[key].as_str().map(str::to_string);
        let ids = |key: &str| -> Vec<String> {
            meta[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(CauseSeen {
            verdict: text(node_meta::VERDICT).unwrap_or_default(),
            code: text(node_meta::ROOT_CAUSE_CODE),
            sentence: text(node_meta::ROOT_CAUSE),
            nodes: ids(node_meta::CAUSE_NODES),
            victims: ids(node_meta::VICTIMS),
            rows: (0..frame.len()).map(|i| frame.row(i)).collect(),
            frames: answer.frames.clone(),
        })
    }

    pub fn row(&self, id: &str) -> Option<&HashMap<String, Value>> {
        self.rows.iter().find(|r| r[node_fields::ID] == id)
    }

    /// The first node whose title contains `part`.
    pub fn titled(&self, part: &str) -> Option<&HashMap<String, Value>> {
        self.rows.iter().find(|r| {
            r[node_fields::TITLE]
                .as_str()
                .is_some_and(|t| t.contains(part))
        })
    }

    pub fn title_of(&self, id: &str) -> String {
        self.row(id)
            .and_then(|r| r[node_fields::TITLE].as_str())
            .unwrap_or("?")
            .to_string()
    }

    pub fn health_of(&self, id: &str) -> String {
        self.row(id)
            .and_then(|r| r[node_fields::HEALTH].as_str())
            .unwrap_or("?")
            .to_string()
    }

    /// The code named, as a user-facing line for failure messages.
    pub fn summary(&self) -> String {
        let unhealthy: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r[node_fields::HEALTH] != "ok")
            .map(|r| {
                format!(
                    "{} [{}] {}",
                    r[node_fields::TITLE],
                    r[node_fields::HEALTH],
                    r[node_fields::REASON]
                )
            })
            .collect();
        format!(
            "verdict {}, root cause {:?}: {:?}; cause nodes {:?}; victims {:?}; unhealthy: {unhealthy:#?}",
            self.verdict, self.code, self.sentence, self.nodes, self.victims
        )
    }

    /// All green: nothing named, every node ok.
    pub fn green(&self) -> bool {
        self.verdict == "ok" && self.code.is_none()
    }
}

/// Asks the topology every second until `ok` accepts what the datasource says; returns it and
/// the time it took. Panics past `bound` with the last answer.
pub async fn until_cause(
    host: &PluginHost,
    ds: &DatasourceConfig,
    what: &str,
    bound: Duration,
    ok: impl Fn(&CauseSeen) -> bool,
) -> (CauseSeen, Duration) {
    until_cause_of(host, ds, json!({}), what, bound, ok).await
}

/// [`until_cause`] with the topology query's own options (per-query `thresholds`, ...).
pub async fn until_cause_of(
    host: &PluginHost,
    ds: &DatasourceConfig,
    query: Value,
    what: &str,
    bound: Duration,
    ok: impl Fn(&CauseSeen) -> bool,
) -> (CauseSeen, Duration) {
    let started = Instant::now();
    loop {
        let answer = host.query_one(ds, "topology", query.clone()).await;
        let seen = CauseSeen::of(&answer);
        match &seen {
            Ok(s) if ok(s) => return (s.clone(), started.elapsed()),
            _ if started.elapsed() >= bound => panic!(
                "{what}: not seen within {} s; last: {}",
                bound.as_secs(),
                match seen {
                    Ok(s) => s.summary(),
                    Err(e) => e,
                }
            ),
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// [`until_cause`] for the bed's synchronous tests: its own runtime and plugin host.
pub struct CauseWatch {
    runtime: tokio::runtime::Runtime,
    host: PluginHost,
    ds: DatasourceConfig,
}

impl CauseWatch {
    pub fn start(ds: DatasourceConfig) -> CauseWatch {
        let (runtime, host) = PluginHost::start_blocking();
        CauseWatch { runtime, host, ds }
    }

    pub fn until(
        &self,
        what: &str,
        bound: Duration,
        ok: impl Fn(&CauseSeen) -> bool,
    ) -> (CauseSeen, Duration) {
        self.until_with(json!({}), what, bound, ok)
    }

    pub fn until_with(
        &self,
        query: Value,
        what: &str,
        bound: Duration,
        ok: impl Fn(&CauseSeen) -> bool,
    ) -> (CauseSeen, Duration) {
        let ask = until_cause_of(&self.host, &self.ds, query, what, bound, ok);
        self.runtime.block_on(ask)
    }
}
