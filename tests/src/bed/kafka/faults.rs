//! The fault knobs of [`KafkaCluster`]: stop (SIGTERM), kill (SIGKILL), pause (SIGSTOP),
//! resume and restart a broker, and the replication they disturb (under-replicated partitions,
//! waiting until every partition is fully replicated again).

use super::*;

impl KafkaCluster {
    /// SIGTERM: a clean shutdown (controlled shutdown moves leadership, the ZooKeeper session
    /// closes); SIGKILL after 30 s. Returns when the JVM has exited.
    pub fn stop_broker(&self, id: i32) {
        let mut st = self.broker(id).state();
        st.process.stop(STOP_GRACE);
        st.paused = false;
    }

    /// SIGKILL: a crash. Its ZooKeeper session lives on until it times out (6 s).
    pub fn kill_broker(&self, id: i32) {
        let mut st = self.broker(id).state();
        st.process.kill();
        st.paused = false;
    }

    /// SIGSTOP: the broker holds its sockets and answers nothing; after 6 s ZooKeeper expires
    /// its session and the controller counts it out.
    pub fn pause_broker(&self, id: i32) {
        let mut st = self.broker(id).state();
        assert!(st.process.running(), "broker {id} is not running");
        st.process.pause();
        st.paused = true;
    }

    pub fn resume_broker(&self, id: i32) {
        let mut st = self.broker(id).state();
        st.process.resume();
        st.paused = false;
    }

    /// Starts a stopped or killed broker again with the same ports, config and log dir, and
    /// waits until it and the other live brokers see each other in their metadata. A killed
    /// broker's id stays registered until its old session expires, so that is waited for first.
    pub fn start_broker(&self, id: i32) {
        let b = self.broker(id);
        let mut expected: Vec<i32> = self.live().iter().map(|o| o.id).chain([id]).collect();
        expected.sort();
        expected.dedup();
        {
            let mut st = b.state();
            assert!(!st.process.running(), "broker {id} is already running");
        }
        let znode = format!("/brokers/ids/{id}");
        let deadline = Instant::now() + EPHEMERAL_BOUND;
        loop {
            match ephemeral_paths(self.zk_port) {
                Ok(paths) if !paths.contains(&znode) => break,
                other if Instant::now() >= deadline => panic!(
                    "{znode} still registered in ZooKeeper after {} s: {other:?}",
                    EPHEMERAL_BOUND.as_secs()
                ),
                _ => thread::sleep(Duration::from_millis(200)),
            }
        }
        let mut st = b.state();
        st.process = b.spawn();
        st.paused = false;
        st.process
            .wait_ready(RESTART_BOUND, || self.broker_ready(b, &expected));
    }

    /// Waits until every broker is in the metadata and no partition (internal topics
    /// included) has an ISR smaller than its replica set, as rdkafka's metadata and then
    /// TopicCommand (the ground truth) see it. Panics past `bound` with what is missing.
    pub fn wait_fully_replicated(&self, bound: Duration) {
        let deadline = Instant::now() + bound;
        loop {
            let last = match self.metadata() {
                Err(e) => e,
                Ok(md) => {
                    let gaps: Vec<String> = md
                        .topics()
                        .iter()
                        .flat_map(|t| {
                            t.partitions()
                                .iter()
                                .filter(|p| p.leader() < 0 || p.isr().len() < p.replicas().len())
                                .map(move |p| {
                                    format!(
                                        "{}-{} replicas {:?} isr {:?}",
                                        t.name(),
                                        p.id(),
                                        p.replicas(),
                                        p.isr()
                                    )
                                })
                        })
                        .collect();
                    let brokers = broker_ids_of(&md);
                    if brokers != BROKER_IDS {
                        format!("brokers in metadata: {brokers:?}")
                    } else if !gaps.is_empty() {
                        format!("under-replicated per metadata: {gaps:?}")
                    } else {
                        // Right after brokers come back the tool itself can fail ("The server
                        // experienced an unexpected error"): that is "not yet", not a verdict.
                        match self.try_under_replicated_partitions() {
                            Ok(urp) if urp.is_empty() => return,
                            Ok(urp) => format!("under-replicated per TopicCommand: {urp:?}"),
                            Err(e) => format!("TopicCommand failed: {e}"),
                        }
                    }
                }
            };
            if Instant::now() >= deadline {
                panic!(
                    "not fully replicated within {} s: {last}\n{}",
                    bound.as_secs(),
                    self.logs_tail(1500)
                );
            }
            thread::sleep(Duration::from_millis(500));
        }
    }

    /// `TopicCommand --describe --under-replicated-partitions` over PLAINTEXT: (topic, partition).
    pub fn under_replicated_partitions(&self) -> Vec<(String, i32)> {
        self.try_under_replicated_partitions()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::under_replicated_partitions`], with the tool's failure as an error.
    pub fn try_under_replicated_partitions(&self) -> Result<Vec<(String, i32)>, String> {
        let args = [
            "--bootstrap-server",
            &self.live_bootstrap(),
            "--describe",
            "--under-replicated-partitions",
        ];
        let out = kafka_tool(TOPIC_COMMAND, &args);
        if !out.success {
            return Err(format!(
                "TopicCommand {args:?} failed ({}):\n{}",
                out.status,
                out.text()
            ));
        }
        parse_topic_partitions(&out.stdout).map_err(|e| format!("TopicCommand output: {e}"))
    }

    /// Puts brokers `ids` back after a fault: resumes the paused ones, starts the stopped or
    /// killed ones and waits (up to `bound`) until every partition is fully replicated.
    pub fn restore_brokers(&self, ids: &[i32], bound: Duration) {
        for &id in ids {
            self.resume_broker(id);
        }
        for &id in ids {
            if self.pid(id).is_none() {
                self.start_broker(id);
            }
        }
        self.wait_fully_replicated(bound);
    }
}
