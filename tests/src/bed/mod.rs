//! The real-pipeline test bed: real Apache Kafka (3 brokers, ZooKeeper), PostgreSQL, a real
//! Flink cluster running the Marketing ROAS job, the real exporters and a real Prometheus, all on
//! loopback, started with one call and torn down when the handle drops.
//!
//! Each part is a module: [`process`] (spawn, PID files, readiness, signals), the components,
//! and the fault knobs on them. The jars come from Maven Central through the poms in
//! `tests/bed/` (`tests/bed/fetch-jars.sh`), cached under `.cache/bed/`.
//!
//! - [`burrow`]: Debian's Burrow (1.2.1) on the bed's Kafka cluster, the reference
//!   implementation of the consumer-status rules, as the peer of the datasource's verdicts;
//!   not part of [`assembly::Bed`]: a test or bench starts it on the cluster.

pub mod assembly;
pub mod burrow;
pub mod control;
pub mod flink;
pub mod kafka;
pub mod kafka_tools;
pub mod postgres;
pub mod process;
pub mod roas;
pub mod tls;
pub mod zookeeper;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository's root (tests/ is one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repo")
        .to_path_buf()
}

/// `.cache/bed/`: jars, PID files; what survives between runs.
pub fn cache_dir() -> PathBuf {
    repo_root().join(".cache/bed")
}

/// Runs `tests/bed/fetch-jars.sh` once per process (idempotent: it only fetches what is
/// missing). Panics with its output when Maven cannot resolve a jar.
pub fn ensure_jars() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let root = repo_root();
        process::run_tool(
            "tests/bed/fetch-jars.sh",
            Command::new("bash")
                .arg(root.join("tests/bed/fetch-jars.sh"))
                .current_dir(&root),
        );
    });
}

/// A directory of the jars that `fetch-jars.sh` put under `.cache/bed/jars/<set>/`, as a Java
/// classpath wildcard.
pub fn jar_set(set: &str) -> String {
    format!("{}/*", cache_dir().join("jars").join(set).display())
}

/// A fresh directory for one bed's data and logs: `tests/output/bed/<name>-<pid>/`, so a failed
/// run leaves its logs for a person to read, and two runs never share state.
pub fn run_dir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("tests/output/bed")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the bed's run directory");
    dir
}

/// Runs `undo` (putting back what a test broke) from a guard's `Drop`: directly, or, when the
/// thread is unwinding from a failed test, under `catch_unwind`, since a second panic while
/// unwinding would abort the whole binary; then `failed` is printed if `undo` panics.
pub fn undo_in_drop(failed: &str, undo: impl FnOnce()) {
    if std::thread::panicking() {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(undo)).is_err() {
            eprintln!("{failed}");
        }
    } else {
        undo();
    }
}
