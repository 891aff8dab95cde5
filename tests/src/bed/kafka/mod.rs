//! A real Apache Kafka 3.7.1 cluster for the bed: three brokers (ids 1, 2, 3), each its own
//! JVM with the JMX exporter agent and the repo's `provisioning/exporters/jmx/kafka.yml`, in
//! ZooKeeper mode like the demo's cp-kafka 7.7.
//!
//! Two listeners per broker on loopback: PLAINTEXT (also inter-broker; its principal is
//! ANONYMOUS, a super user, so it is unrestricted) and SASL_SSL with SCRAM-SHA-512 (the CA of
//! [`Tls`]), behind `AclAuthorizer` with `allow.everyone.if.no.acl.found=false`:
//! - [`ADMIN_USER`]: super user;
//! - [`READER_USER`]: Describe/Read on every topic and group, Describe/DescribeConfigs on the
//!   cluster, but Describe on [`RESTRICTED_GROUP`] explicitly denied (it reads the lag of every
//!   group but that one).
//!
//! The handle works from a `static` (interior mutability per broker), has fault knobs (stop,
//! kill, pause, resume, start a broker) and reads ground truth with Kafka's own tools.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use std::{fs, thread};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;

use super::kafka_tools::{
    kafka_tool, kafka_tool_ok, parse_group_offsets, parse_group_state, parse_topic_partitions,
    template, ToolOutput, ACL_COMMAND, CONFIG_COMMAND, CONSUMER_GROUP_COMMAND, KAFKA_MAIN,
    TOPIC_COMMAND,
};
pub use super::kafka_tools::{GroupOffsetRow, GroupState};
use super::process::{free_port, http_get, log_tail, Process};
use super::tls::{Tls, STORE_PASSWORD};
use super::zookeeper::{ephemeral_paths, jmx_agent_arg, ZooKeeper};

mod acls;
mod clients;
mod faults;

pub use clients::block_on;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-bed-secret";
pub const READER_USER: &str = "reader";
pub const READER_PASSWORD: &str = "reader-bed-secret";
/// The one group [`READER_USER`] may not describe.
pub const RESTRICTED_GROUP: &str = "restricted-group";
pub const BROKER_IDS: [i32; 3] = [1, 2, 3];
/// The SASL mechanism of the SASL_SSL listener.
pub const SASL_MECHANISM: &str = "SCRAM-SHA-512";

/// Three JVMs starting at once on 2 cores, then every broker seeing the other two.
const START_BOUND: Duration = Duration::from_secs(120);
const RESTART_BOUND: Duration = Duration::from_secs(90);
/// A clean stop: controlled shutdown hands partition leadership to the others first.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// A killed broker's ZooKeeper session (6 s) must expire before the id can register again.
const EPHEMERAL_BOUND: Duration = Duration::from_secs(30);
const TOPIC_BOUND: Duration = Duration::from_secs(30);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// ZooKeeper and the Kafka cluster on it; Kafka is dropped first.
pub struct KafkaBed {
    pub kafka: KafkaCluster,
    pub zookeeper: ZooKeeper,
}

impl KafkaBed {
    pub fn start(run_dir: &Path) -> KafkaBed {
        let zookeeper = ZooKeeper::start(run_dir);
        let kafka = KafkaCluster::start(run_dir, &zookeeper);
        KafkaBed { kafka, zookeeper }
    }
}

/// How long each step of [`KafkaCluster::start`] took.
#[derive(Debug, Clone, Copy)]
pub struct StartTimings {
    /// CA and broker keystores.
    pub tls: Duration,
    /// SCRAM users written to ZooKeeper by ConfigCommand.
    pub users: Duration,
    /// From spawning the 3 JVMs until every broker answers Metadata listing all 3 (the ACLs
    /// are written meanwhile).
    pub brokers: Duration,
    pub total: Duration,
}

struct Broker {
    id: i32,
    plaintext_port: u16,
    sasl_ssl_port: u16,
    jmx_exporter_port: u16,
    config: PathBuf,
    log: PathBuf,
    state: Mutex<BrokerState>,
}

struct BrokerState {
    process: Process,
    paused: bool,
}

impl Broker {
    fn spawn(&self) -> Process {
        spawn_broker(self.id, self.jmx_exporter_port, &self.config, &self.log)
    }

    fn state(&self) -> MutexGuard<'_, BrokerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct KafkaCluster {
    brokers: Vec<Broker>,
    zk_port: u16,
    zk_connect: String,
    tls: Tls,
    dir: PathBuf,
    timings: StartTimings,
    client_files: AtomicUsize,
}

impl KafkaCluster {
    /// Starts brokers 1, 2, 3 on `zk` with their data and logs under `run_dir/kafka/`; returns
    /// once every broker answers Metadata with all three brokers in it and its JMX exporter
    /// serves broker metrics. Panics with the late broker's log tail past 120 s.
    pub fn start(run_dir: &Path, zk: &ZooKeeper) -> KafkaCluster {
        let t0 = Instant::now();
        super::ensure_jars();
        let dir = run_dir.join("kafka");
        fs::create_dir_all(&dir).expect("the Kafka run directory");
        let tls = Tls::create(&dir.join("tls"));
        let keystores: Vec<PathBuf> = BROKER_IDS
            .iter()
            .map(|id| tls.server_keystore(&format!("broker-{id}")))
            .collect();
        let tls_time = t0.elapsed();

        // SCRAM credentials live in ZooKeeper; brokers read them at start and on change.
        let t1 = Instant::now();
        let zk_connect = zk.connect();
        thread::scope(|s| {
            for (user, password) in [(ADMIN_USER, ADMIN_PASSWORD), (READER_USER, READER_PASSWORD)] {
                let zk_connect = &zk_connect;
                s.spawn(move || {
                    kafka_tool_ok(
                        CONFIG_COMMAND,
                        &[
                            "--zookeeper",
                            zk_connect,
                            "--alter",
                            "--add-config",
                            &format!("{SASL_MECHANISM}=[password={password}]"),
                            "--entity-type",
                            "users",
                            "--entity-name",
                            user,
                        ],
                    )
                });
            }
        });
        let users_time = t1.elapsed();

        let t2 = Instant::now();
        let template_text =
            fs::read_to_string(template("server.properties")).expect("server.properties template");
        let brokers: Vec<Broker> = BROKER_IDS
            .iter()
            .zip(&keystores)
            .map(|(&id, keystore)| {
                let bdir = dir.join(format!("broker-{id}"));
                fs::create_dir_all(bdir.join("data")).expect("a broker's log dir");
                let (plaintext_port, sasl_ssl_port, jmx_exporter_port) =
                    (free_port(), free_port(), free_port());
                let config = bdir.join("server.properties");
                let text = template_text
                    .replace("@BROKER_ID@", &id.to_string())
                    .replace("@ZOOKEEPER@", &zk_connect)
                    .replace("@LOG_DIR@", &bdir.join("data").display().to_string())
                    .replace("@PLAINTEXT_PORT@", &plaintext_port.to_string())
                    .replace("@SASL_SSL_PORT@", &sasl_ssl_port.to_string())
                    .replace("@KEYSTORE@", &keystore.display().to_string())
                    .replace("@STORE_PASSWORD@", STORE_PASSWORD);
                assert!(!text.contains('@'), "unfilled placeholder in {config:?}");
                fs::write(&config, text).expect("server.properties");
                let log = bdir.join("server.log");
                let process = spawn_broker(id, jmx_exporter_port, &config, &log);
                Broker {
                    id,
                    plaintext_port,
                    sasl_ssl_port,
                    jmx_exporter_port,
                    config,
                    log,
                    state: Mutex::new(BrokerState {
                        process,
                        paused: false,
                    }),
                }
            })
            .collect();

        let mut cluster = KafkaCluster {
            brokers,
            zk_port: zk.client_port,
            zk_connect,
            tls,
            dir,
            timings: StartTimings {
                tls: tls_time,
                users: users_time,
                brokers: Duration::ZERO,
                total: Duration::ZERO,
            },
            client_files: AtomicUsize::new(0),
        };
        // ACLs go through ZooKeeper too (the broker's authorizer watches them), while the
        // brokers start.
        thread::scope(|s| {
            for args in cluster.acl_commands() {
                s.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    kafka_tool_ok(ACL_COMMAND, &args)
                });
            }
        });
        let all: Vec<i32> = BROKER_IDS.to_vec();
        for b in &cluster.brokers {
            let mut st = b.state();
            st.process
                .wait_ready(START_BOUND.saturating_sub(t2.elapsed()), || {
                    cluster.panic_if_another_exited(b.id);
                    cluster.broker_ready(b, &all)
                });
        }
        cluster.timings.brokers = t2.elapsed();
        cluster.timings.total = t0.elapsed();
        cluster
    }

    /// Ready: the broker answers Metadata naming exactly `expected`, every other live broker
    /// names it too, and its exporter serves the ReplicaManager gauges of kafka.yml.
    fn broker_ready(&self, b: &Broker, expected: &[i32]) -> Result<(), String> {
        let md = metadata_via_port(b.plaintext_port, METADATA_TIMEOUT)?;
        let seen = broker_ids_of(&md);
        if seen != expected {
            return Err(format!("broker {} sees brokers {seen:?}", b.id));
        }
        for other in expected.iter().filter(|&&o| o != b.id) {
            let port = self.broker(*other).plaintext_port;
            let seen = broker_ids_of(&metadata_via_port(port, METADATA_TIMEOUT)?);
            if !seen.contains(&b.id) {
                return Err(format!("broker {other} does not see {} yet", b.id));
            }
        }
        let metrics = http_get(b.jmx_exporter_port, "/metrics")?;
        if !metrics.contains("kafka_server_replicamanager_partitioncount") {
            return Err("the JMX exporter has no ReplicaManager metrics yet".into());
        }
        Ok(())
    }

    /// While one broker is awaited, a sibling that exited (a port taken, a bad config) would
    /// only show as "broker N sees brokers [..]" at the deadline: fail at once with its own log.
    fn panic_if_another_exited(&self, awaited: i32) {
        for other in self.brokers.iter().filter(|o| o.id != awaited) {
            let mut st = other.state();
            if !st.process.running() {
                panic!(
                    "broker {} exited while the cluster started; log {}:\n{}",
                    other.id,
                    other.log.display(),
                    st.process.log_tail(4000)
                );
            }
        }
    }

    fn broker(&self, id: i32) -> &Broker {
        self.brokers
            .iter()
            .find(|b| b.id == id)
            .unwrap_or_else(|| panic!("no broker {id} (brokers are {BROKER_IDS:?})"))
    }

    /// Brokers running and not paused, by id.
    fn live(&self) -> Vec<&Broker> {
        self.brokers
            .iter()
            .filter(|b| {
                let mut st = b.state();
                !st.paused && st.process.running()
            })
            .collect()
    }

    fn live_bootstrap(&self) -> String {
        let live = self.live();
        assert!(!live.is_empty(), "no broker is up");
        live.iter()
            .map(|b| format!("127.0.0.1:{}", b.plaintext_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The last lines of every broker's log, for failure messages.
    pub fn logs_tail(&self, max_per_broker: u64) -> String {
        self.brokers
            .iter()
            .map(|b| {
                format!(
                    "--- broker {} ({}):\n{}",
                    b.id,
                    b.log.display(),
                    log_tail(&b.log, max_per_broker)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn timings(&self) -> StartTimings {
        self.timings
    }

    pub fn broker_ids(&self) -> Vec<i32> {
        self.brokers.iter().map(|b| b.id).collect()
    }

    /// PLAINTEXT listeners of all brokers, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.plaintext_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SASL_SSL listeners of all brokers, comma-separated.
    pub fn bootstrap_sasl_ssl(&self) -> String {
        self.brokers
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.sasl_ssl_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One broker's PLAINTEXT listener.
    pub fn broker_bootstrap(&self, id: i32) -> String {
        format!("127.0.0.1:{}", self.broker(id).plaintext_port)
    }

    /// One broker's SASL_SSL listener.
    pub fn broker_bootstrap_sasl_ssl(&self, id: i32) -> String {
        format!("127.0.0.1:{}", self.broker(id).sasl_ssl_port)
    }

    /// The CA that signed the brokers' certificates, PEM text (`kafkaTlsCaCert`).
    pub fn ca_pem(&self) -> &str {
        self.tls.ca_pem()
    }

    pub fn ca_pem_path(&self) -> PathBuf {
        self.tls.ca_pem_path()
    }

    pub fn admin_user(&self) -> (&'static str, &'static str) {
        (ADMIN_USER, ADMIN_PASSWORD)
    }

    pub fn reader_user(&self) -> (&'static str, &'static str) {
        (READER_USER, READER_PASSWORD)
    }

    /// The connect string of the ZooKeeper the brokers use.
    pub fn zookeeper_connect(&self) -> &str {
        &self.zk_connect
    }

    /// (broker id, port of its JMX exporter agent).
    pub fn jmx_exporter_ports(&self) -> Vec<(i32, u16)> {
        self.brokers
            .iter()
            .map(|b| (b.id, b.jmx_exporter_port))
            .collect()
    }

    /// The broker's log: log4j's lines and the JVM's own output.
    pub fn log_path(&self, id: i32) -> PathBuf {
        self.broker(id).log.clone()
    }

    /// The broker JVM's PID while it runs.
    pub fn pid(&self, id: i32) -> Option<u32> {
        let mut st = self.broker(id).state();
        if st.process.running() {
            st.process.pid()
        } else {
            None
        }
    }
}

/// One broker JVM: Kafka's own kafka-server-start flags, with the bed's heap.
fn spawn_broker(id: i32, jmx_exporter_port: u16, config: &Path, log: &Path) -> Process {
    let mut cmd = Command::new("java");
    cmd.args([
        "-Xmx512m",
        "-Xms256m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
    ])
    .args([
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
    ])
    .arg(format!(
        "-Dlog4j.configuration=file:{}",
        template("log4j.properties").display()
    ))
    .arg(format!("-Dbed.log.file={}", log.display()))
    .arg(jmx_agent_arg(jmx_exporter_port, "kafka.yml"))
    .arg("-cp")
    .arg(super::jar_set("kafka"))
    .arg(KAFKA_MAIN)
    .arg(config);
    Process::spawn(&format!("kafka-{id}"), cmd, log)
}

fn metadata_via_port(port: u16, timeout: Duration) -> Result<Metadata, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .create()
        .map_err(|e| format!("rdkafka client: {e}"))?;
    consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| format!("Metadata via 127.0.0.1:{port}: {e}"))
}

fn broker_ids_of(md: &Metadata) -> Vec<i32> {
    let mut ids: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
    ids.sort();
    ids
}
