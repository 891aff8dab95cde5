//! The whole bed put together, in dependency order: ZooKeeper and the Kafka cluster, the
//! pipeline's topics, then PostgreSQL, the Flink cluster, the generator and the ROAS job.
//! One call starts it ([`Bed::start`]); dropping it (or the end of the test process) ends every
//! process. [`Bed::apply`] makes a fault; [`Bed::describe`] says where everything listens.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::control::Fault;
use super::kafka::{KafkaBed, KafkaCluster};
use super::roas::{RoasOptions, RoasPipeline, GROUP, JOB_NAME, TOPICS};

/// The pipeline's topics: several partitions, replicated on every broker.
pub const TOPIC_PARTITIONS: i32 = 6;
pub const REPLICATION: i32 = 3;

/// How long a started broker may take to rejoin with every partition replicated again.
const REPLICATED_BOUND: Duration = Duration::from_secs(120);

pub struct Bed {
    pub run_dir: PathBuf,
    /// Dropped after the pipeline (fields drop in order): Flink leaves Kafka before it stops.
    pub roas: RoasPipeline,
    pub kafka_bed: KafkaBed,
    pub started_in: Duration,
}

impl Bed {
    /// Starts everything under `tests/output/bed/<name>-<pid>/` and returns once the ROAS job
    /// is RUNNING and its first rows are in PostgreSQL.
    pub fn start(name: &str) -> Bed {
        let t0 = Instant::now();
        super::ensure_jars();
        let _turn = startup_turn();
        let run_dir = super::run_dir(name);
        let kafka_bed = KafkaBed::start(&run_dir);
        for topic in TOPICS {
            kafka_bed
                .kafka
                .create_topic(topic, TOPIC_PARTITIONS, REPLICATION);
        }
        let roas = RoasPipeline::start(&run_dir, RoasOptions::new(&kafka_bed.kafka.bootstrap()));
        Bed {
            run_dir,
            roas,
            kafka_bed,
            started_in: t0.elapsed(),
        }
    }

    pub fn kafka(&self) -> &KafkaCluster {
        &self.kafka_bed.kafka
    }

    /// Carries out one fault knob; returns a short account of what was done.
    pub fn apply(&self, fault: &Fault) -> String {
        let kafka = self.kafka();
        match fault {
            Fault::StopBroker(id) => kafka.stop_broker(*id),
            Fault::StartBroker(id) => {
                kafka.start_broker(*id);
                kafka.wait_fully_replicated(REPLICATED_BOUND);
            }
            Fault::KillBroker(id) => kafka.kill_broker(*id),
            Fault::PauseBroker(id) => kafka.pause_broker(*id),
            Fault::ResumeBroker(id) => kafka.resume_broker(*id),
            Fault::SlowOperator(per_record) => self.roas.slow_operator(*per_record),
            Fault::UnslowOperator => self.roas.unslow_operator(),
            Fault::BlockSink => self.roas.block_sink(),
            Fault::UnblockSink => self.roas.unblock_sink(),
            Fault::StopDatabase => self.roas.postgres().take_down(),
            Fault::StartDatabase => self.roas.postgres().start_again(),
            Fault::CancelJob => self.roas.cancel_job(),
            Fault::ResubmitJob => return format!("job {}", self.roas.resubmit_job()),
            Fault::KillTaskManager => {
                return format!("killed taskmanager {}", self.roas.kill_taskmanager())
            }
            Fault::StartTaskManager => {
                return format!("started taskmanager {}", self.roas.start_taskmanager())
            }
            Fault::PauseJobManager => self.roas.flink().pause_jobmanager(),
            Fault::ResumeJobManager => self.roas.flink().resume_jobmanager(),
            Fault::StopGenerator => self.roas.stop_generator(),
            Fault::StartGenerator => self.roas.start_generator(),
        }
        String::new()
    }

    /// Resident memory of each server of the bed, in KiB (from /proc).
    pub fn rss_kib(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut add = |name: String, pid: Option<u32>| {
            if let Some(kib) = pid.and_then(super::process::rss_kib) {
                out.push((name, kib));
            }
        };
        add("zookeeper".into(), self.kafka_bed.zookeeper.process().pid());
        for id in self.kafka().broker_ids() {
            add(format!("kafka-{id}"), self.kafka().pid(id));
        }
        add("postgres".into(), self.roas.postgres().pid());
        let flink = self.roas.flink();
        out.extend(
            flink
                .jobmanager_rss_kib()
                .map(|k| ("flink-jobmanager".to_string(), k)),
        );
        out.extend(
            flink
                .taskmanager_rss_kib()
                .map(|k| ("flink-taskmanager".to_string(), k)),
        );
        out
    }

    /// Where every part listens, for a person, a pytest suite or a Prometheus config.
    pub fn describe(&self) -> Value {
        let kafka = self.kafka();
        let flink = self.roas.flink();
        let (jm_prom, tm_prom) = flink.prometheus_ports();
        let (jm_jmx, tm_jmx) = flink.jmx_exporter_ports();
        let loopback = |p: u16| format!("127.0.0.1:{p}");
        let (admin, admin_password) = kafka.admin_user();
        let (reader, reader_password) = kafka.reader_user();
        json!({
            "kafka": {
                "bootstrap": kafka.bootstrap(),
                "bootstrap_sasl_ssl": kafka.bootstrap_sasl_ssl(),
                "ca_pem_path": kafka.ca_pem_path(),
                "sasl_mechanism": super::kafka::SASL_MECHANISM,
                "users": {admin: admin_password, reader: reader_password},
                "restricted_group": super::kafka::RESTRICTED_GROUP,
                "brokers": kafka.jmx_exporter_ports().iter().map(|(id, port)| json!({
                    "id": id,
                    "jmx_exporter": loopback(*port),
                    "log": kafka.log_path(*id),
                })).collect::<Vec<_>>(),
            },
            "zookeeper": {
                "connect": self.kafka_bed.zookeeper.connect(),
                "jmx_exporter": loopback(self.kafka_bed.zookeeper.jmx_exporter_port),
            },
            "postgres": {
                "port": self.roas.postgres().port(),
                "jdbc_url": self.roas.postgres().jdbc_url(),
                "database": super::postgres::DATABASE,
                "user": super::postgres::USER,
            },
            "flink": {
                "rest_url": flink.rest_url(),
                "jobmanager": {"prometheus": loopback(jm_prom), "jmx_exporter": loopback(jm_jmx)},
                "taskmanager": {
                    "prometheus": tm_prom.map(loopback),
                    "jmx_exporter": tm_jmx.map(loopback),
                },
            },
            "pipeline": {
                "job_name": JOB_NAME,
                "group": GROUP,
                "topics": TOPICS,
                "sink_table": super::postgres::SINK_TABLE,
            },
            "log_dir": self.run_dir,
            "started_in_seconds": self.started_in.as_secs_f64(),
            "rss_kib": self.rss_kib().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        })
    }
}

/// Held while a bed starts, across processes (`cargo xtask test` with lanes, pytest's bed beside
/// a Rust suite): starting a bed is the hungriest part of its life (six JVMs warming up, the
/// SQL job planned), and three starting at once on 2 cores ran past Flink's submission bound.
/// The lock ends with the file handle, also when the process dies.
fn startup_turn() -> std::fs::File {
    let path = super::cache_dir().join("bed-start.lock");
    let _ = std::fs::create_dir_all(super::cache_dir());
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("the bed's start lock {}: {e}", path.display()));
    let waited = Instant::now();
    file.lock()
        .unwrap_or_else(|e| panic!("the bed's start lock {}: {e}", path.display()));
    if waited.elapsed() > Duration::from_secs(1) {
        println!(
            "bed: waited {:.0} s for another bed to finish starting",
            waited.elapsed().as_secs_f64()
        );
    }
    file
}

/// The whole bed of this test binary, started on first use and shared by its tests.
pub fn shared() -> &'static Bed {
    static BED: OnceLock<Bed> = OnceLock::new();
    BED.get_or_init(|| {
        let name = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "bed".into());
        let name = name.split('-').next().unwrap_or("bed").to_string();
        Bed::start(&name)
    })
}
