//! One real ZooKeeper 3.8.4 (standalone, the demo's cp-zookeeper version) for the bed's Kafka
//! brokers, with the JMX exporter agent and the repo's own
//! `provisioning/exporters/jmx/zookeeper.yml` attached, as the demo runs it.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::kafka_tools::{template, ZOOKEEPER_MAIN};
use super::process::{free_port, http_get, reap_orphans, Process};

const START_BOUND: Duration = Duration::from_secs(60);

pub struct ZooKeeper {
    pub process: Mutex<Process>,
    pub client_port: u16,
    pub jmx_exporter_port: u16,
    pub log_path: PathBuf,
}

impl ZooKeeper {
    /// Starts ZooKeeper with its data and log under `run_dir/zookeeper/`; returns once it
    /// answers `ruok` with `imok` and the JMX exporter serves its ZooKeeper metrics.
    /// Ends the servers an earlier, crashed run left behind first.
    pub fn start(run_dir: &Path) -> ZooKeeper {
        reap_orphans();
        super::ensure_jars();
        let dir = run_dir.join("zookeeper");
        fs::create_dir_all(dir.join("data")).expect("ZooKeeper's data directory");
        let client_port = free_port();
        let jmx_exporter_port = free_port();
        let cfg = dir.join("zoo.cfg");
        // tickTime 1 s: sessions may be as short as 2 s, so the brokers' 6 s session is legal.
        fs::write(
            &cfg,
            format!(
                "tickTime=1000\ninitLimit=10\nsyncLimit=5\n\
                 dataDir={}\nclientPort={client_port}\nclientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n",
                dir.join("data").display()
            ),
        )
        .expect("zoo.cfg");
        let log_path = dir.join("zookeeper.log");
        let mut cmd = Command::new("java");
        cmd.args(["-Xmx128m", "-Xms64m", "-Djava.awt.headless=true"])
            .arg(format!(
                "-Dlogback.configurationFile={}",
                template("zookeeper-logback.xml").display()
            ))
            .arg(jmx_agent_arg(jmx_exporter_port, "zookeeper.yml"))
            .arg("-cp")
            .arg(super::jar_set("zookeeper"))
            .arg(ZOOKEEPER_MAIN)
            .arg(&cfg);
        let mut process = Process::spawn("zookeeper", cmd, &log_path);
        process.wait_ready(START_BOUND, || {
            let answer = four_letter(client_port, "ruok")?;
            if answer != "imok" {
                return Err(format!("ruok answered {answer:?}"));
            }
            let metrics = http_get(jmx_exporter_port, "/metrics")?;
            if !metrics.contains("zookeeper_inmemorydatatree_nodecount") {
                return Err("the JMX exporter has no ZooKeeper metrics yet".into());
            }
            Ok(())
        });
        ZooKeeper {
            process: Mutex::new(process),
            client_port,
            jmx_exporter_port,
            log_path,
        }
    }

    /// The connect string: `127.0.0.1:PORT`.
    pub fn connect(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// Sends a four-letter word (`ruok`, `mntr`, `dump`, `stat`) and returns the answer.
    pub fn four_letter(&self, word: &str) -> Result<String, String> {
        four_letter(self.client_port, word)
    }

    /// The ephemeral znodes of live sessions (from `dump`), e.g. `/brokers/ids/1`.
    pub fn ephemeral_paths(&self) -> Result<Vec<String>, String> {
        ephemeral_paths(self.client_port)
    }

    pub fn process(&self) -> MutexGuard<'_, Process> {
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `-javaagent:<jmx_prometheus_javaagent jar>=127.0.0.1:PORT:<repo>/provisioning/exporters/jmx/<config>`.
pub(crate) fn jmx_agent_arg(port: u16, config: &str) -> String {
    let jar = super::cache_dir().join("jars/jmx-agent/jmx_prometheus_javaagent-0.20.0.jar");
    assert!(jar.exists(), "the JMX exporter agent is missing: {jar:?}");
    let config = super::repo_root()
        .join("provisioning/exporters/jmx")
        .join(config);
    format!(
        "-javaagent:{}=127.0.0.1:{port}:{}",
        jar.display(),
        config.display()
    )
}

pub(crate) fn four_letter(port: u16, word: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .and_then(|_| s.write_all(word.as_bytes()))
        .map_err(|e| format!("send {word}: {e}"))?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .map_err(|e| format!("read the answer to {word}: {e}"))?;
    Ok(answer.trim().to_string())
}

/// `dump` lists, per session with ephemerals, its session id and then its paths indented.
pub(crate) fn ephemeral_paths(port: u16) -> Result<Vec<String>, String> {
    let dump = four_letter(port, "dump")?;
    let (_, ephemerals) = dump
        .split_once("Sessions with Ephemerals")
        .ok_or_else(|| format!("no ephemerals section in dump:\n{dump}"))?;
    Ok(ephemerals
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
        .map(str::to_string)
        .collect())
}
