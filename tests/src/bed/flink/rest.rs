//! The REST helpers of [`FlinkCluster`]: jobs, vertices, backpressure, checkpoints, restarts,
//! cancelling a job, and submitting a SQL script through the bed's submitter.

use super::*;

impl FlinkCluster {
    /// GET a REST path, JSON answer.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.get_within(path, Duration::from_secs(10))
    }

    pub fn get_within(&self, path: &str, timeout: Duration) -> Result<Value, String> {
        let body = http(self.rest_port, "GET", path, timeout)?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
    }

    /// PATCH a REST path (job cancellation answers 202 with `{}`).
    pub fn patch(&self, path: &str) -> Result<Value, String> {
        let body = http(self.rest_port, "PATCH", path, Duration::from_secs(10))?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON: {e}"))
    }

    /// Every job the cluster knows, from `/jobs/overview`.
    pub fn jobs(&self) -> Vec<JobSummary> {
        let Ok(v) = self.get("/jobs/overview") else {
            return Vec::new();
        };
        v["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| JobSummary {
                id: j["jid"].as_str().unwrap_or_default().to_string(),
                name: j["name"].as_str().unwrap_or_default().to_string(),
                state: j["state"].as_str().unwrap_or_default().to_string(),
                start_time: j["start-time"].as_i64().unwrap_or_default(),
            })
            .collect()
    }

    /// The newest job named `name` (any state).
    pub fn job_id(&self, name: &str) -> Option<String> {
        self.newest(name).map(|j| j.id)
    }

    /// The state of the newest job named `name`.
    pub fn job_state(&self, name: &str) -> Option<String> {
        self.newest(name).map(|j| j.state)
    }

    fn newest(&self, name: &str) -> Option<JobSummary> {
        self.jobs()
            .into_iter()
            .filter(|j| j.name == name)
            .max_by_key(|j| j.start_time)
    }

    /// The state of job `id` (`RUNNING`, `RESTARTING`, `CANCELED`, ...).
    pub fn state_of(&self, id: &str) -> Option<String> {
        let v = self.get(&format!("/jobs/{id}")).ok()?;
        v["state"].as_str().map(str::to_string)
    }

    /// `PATCH /jobs/:jid?mode=cancel`, then waits until the job is CANCELED.
    pub fn cancel_job(&self, id: &str) {
        self.patch(&format!("/jobs/{id}?mode=cancel"))
            .unwrap_or_else(|e| panic!("cancel job {id}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self.state_of(id);
            if state.as_deref() == Some("CANCELED") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} not CANCELED within 60 s (state {state:?})"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Job `id`'s vertices in the order the REST API lists them, with their inputs (the job
    /// graph's edges, from `plan.nodes[].inputs`).
    pub fn vertices(&self, id: &str) -> Result<Vec<Vertex>, String> {
        let v = self.get(&format!("/jobs/{id}"))?;
        let mut inputs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for node in v["plan"]["nodes"].as_array().into_iter().flatten() {
            let list = node["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    (
                        i["id"].as_str().unwrap_or_default().to_string(),
                        i["ship_strategy"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            inputs.insert(node["id"].as_str().unwrap_or_default().to_string(), list);
        }
        Ok(v["vertices"]
            .as_array()
            .ok_or(format!("/jobs/{id}: no vertices"))?
            .iter()
            .map(|x| {
                let vid = x["id"].as_str().unwrap_or_default().to_string();
                Vertex {
                    inputs: inputs.remove(&vid).unwrap_or_default(),
                    id: vid,
                    name: x["name"].as_str().unwrap_or_default().to_string(),
                    parallelism: x["parallelism"].as_u64().unwrap_or_default() as u32,
                    status: x["status"].as_str().unwrap_or_default().to_string(),
                    read_records: x["metrics"]["read-records"].as_i64().unwrap_or_default(),
                    write_records: x["metrics"]["write-records"].as_i64().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Waits until job `id` is RUNNING with every vertex RUNNING; panics after `bound` with
    /// the last state and the JobManager log's tail.
    pub fn wait_job_running(&self, id: &str, bound: Duration) {
        let deadline = Instant::now() + bound;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match (self.state_of(id), self.vertices(id)) {
                (Some(s), Ok(vs)) if s == "RUNNING" && vs.iter().all(|v| v.status == "RUNNING") => {
                    return
                }
                (s, vs) => {
                    last = format!(
                        "job {s:?}, vertices {:?}",
                        vs.map(|vs| vs.into_iter().map(|v| v.status).collect::<Vec<_>>())
                    )
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "job {id} not RUNNING within {} s: {last}\njobmanager log:\n{}",
            bound.as_secs(),
            process::log_tail(&self.jobmanager_log(), 3000)
        );
    }

    /// Waits until the JobManager serves current task metrics for every vertex of job `id`:
    /// each backpressure answer `ok` (not the `deprecated` of an empty metric store) and
    /// refreshed within the last 10 s. After a TaskManager is lost while asked for its metrics,
    /// the JobManager serves frozen ones for `web.timeout`, so a test that starts from health
    /// waits for them too. Err with what was seen last.
    pub fn wait_task_metrics(&self, id: &str, bound: Duration) -> Result<(), String> {
        let deadline = Instant::now() + bound;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let seen: Result<Vec<(String, Option<i64>)>, String> =
                self.vertices(id).and_then(|vs| {
                    vs.iter()
                        .map(|v| {
                            let b =
                                self.get(&format!("/jobs/{id}/vertices/{}/backpressure", v.id))?;
                            let status = b["status"].as_str().unwrap_or_default().to_string();
                            Ok((
                                status,
                                b["end-timestamp"].as_i64().map(|t| (now_ms - t) / 1000),
                            ))
                        })
                        .collect()
                });
            match seen {
                Ok(s)
                    if !s.is_empty()
                        && s.iter()
                            .all(|(st, age)| st == "ok" && age.is_some_and(|a| a < 10)) =>
                {
                    return Ok(())
                }
                Ok(s) => last = format!("per vertex (status, seconds since refresh) {s:?}"),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!(
            "no current task metrics for job {id} within {} s: {last}",
            bound.as_secs()
        ))
    }

    /// `/jobs/:jid/vertices/:vid/backpressure`, reduced to the worst subtask.
    pub fn backpressure(&self, job: &str, vertex: &str) -> Result<Backpressure, String> {
        let v = self.get(&format!("/jobs/{job}/vertices/{vertex}/backpressure"))?;
        let subtasks = v["subtasks"].as_array().cloned().unwrap_or_default();
        let max = |k: &str| {
            subtasks
                .iter()
                .filter_map(|s| s[k].as_f64())
                .fold(0.0_f64, f64::max)
        };
        Ok(Backpressure {
            status: v["status"].as_str().unwrap_or_default().to_string(),
            level: v["backpressureLevel"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ratio: max("ratio"),
            busy_ratio: max("busyRatio"),
            idle_ratio: max("idleRatio"),
            subtasks: subtasks.len(),
        })
    }

    /// `/jobs/:jid/checkpoints` counts.
    pub fn checkpoints(&self, job: &str) -> Result<CheckpointCounts, String> {
        let v = self.get(&format!("/jobs/{job}/checkpoints"))?;
        let c = &v["counts"];
        Ok(CheckpointCounts {
            completed: c["completed"].as_i64().unwrap_or_default(),
            failed: c["failed"].as_i64().unwrap_or_default(),
            in_progress: c["in_progress"].as_i64().unwrap_or_default(),
            restored: c["restored"].as_i64().unwrap_or_default(),
            latest_failure: v["latest"]["failed"]["failure_message"]
                .as_str()
                .map(str::to_string),
        })
    }

    /// The job's `numRestarts` metric.
    pub fn num_restarts(&self, job: &str) -> Option<i64> {
        let v = self
            .get(&format!("/jobs/{job}/metrics?get=numRestarts"))
            .ok()?;
        v.as_array()?.first()?["value"].as_str()?.parse().ok()
    }

    /// Submits a SQL script with `pipelinehealth.bed.SubmitSql` (see its doc): `replace` swaps
    /// addresses written in the script, and the cluster's REST address and this bed's checkpoint
    /// settings override the script's SETs. Returns the job ids it printed.
    pub fn submit_sql(&self, script: &Path, replace: &[(String, String)]) -> Vec<String> {
        let classpath = format!(
            "{}:{}",
            cluster_classpath(),
            bed_java_dir().join("classes").display()
        );
        let mut cmd = Command::new("java");
        cmd.arg(format!(
            "-Dlog4j.configurationFile=file:{}",
            self.dir.join("log4j-client.properties").display()
        ))
        .args(JAVA_OPENS)
        .args([
            "-Xmx512m",
            "-cp",
            &classpath,
            "pipelinehealth.bed.SubmitSql",
        ])
        .arg("--sql")
        .arg(script);
        for (from, to) in replace {
            cmd.args(["--replace", &format!("{from}={to}")]);
        }
        for (k, v) in self.job_overrides() {
            cmd.args(["--set", &format!("{k}={v}")]);
        }
        let out = run_bounded("SubmitSql", &mut cmd, SUBMIT_BOUND);
        out.lines()
            .filter_map(|l| l.strip_prefix("JOB_ID "))
            .map(|s| s.trim().to_string())
            .collect()
    }

    /// What the bed sets on every job over the script's own SETs: where the cluster is and the
    /// checkpoint cadence the bed was started with.
    pub fn job_overrides(&self) -> Vec<(String, String)> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            ("rest.address".into(), "127.0.0.1".into()),
            ("rest.port".into(), self.rest_port.to_string()),
            (
                "execution.checkpointing.interval".into(),
                ms(self.options.checkpoint_interval),
            ),
            (
                "execution.checkpointing.timeout".into(),
                ms(self.options.checkpoint_timeout),
            ),
            (
                "parallelism.default".into(),
                self.options.parallelism.to_string(),
            ),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct JobSummary {
    pub id: String,
    pub name: String,
    pub state: String,
    pub start_time: i64,
}

#[derive(Debug, Clone)]
pub struct Vertex {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    pub status: String,
    /// Upstream vertex ids with the edge's ship strategy (HASH, FORWARD, ...).
    pub inputs: Vec<(String, String)>,
    pub read_records: i64,
    pub write_records: i64,
}

/// A vertex's backpressure, as the Web UI shows it: the level and the worst subtask's ratios.
#[derive(Debug, Clone)]
pub struct Backpressure {
    pub status: String,
    /// ok | low | high
    pub level: String,
    pub ratio: f64,
    pub busy_ratio: f64,
    pub idle_ratio: f64,
    pub subtasks: usize,
}

#[derive(Debug, Clone)]
pub struct CheckpointCounts {
    pub completed: i64,
    pub failed: i64,
    pub in_progress: i64,
    pub restored: i64,
    pub latest_failure: Option<String>,
}
