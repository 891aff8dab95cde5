//! `cargo xtask fuzz [SECONDS] [TARGET...]`: builds the fuzz targets of `fuzz/` (cargo-fuzz,
//! without a sanitizer: the code under test is safe Rust, and that mode needs no nightly
//! toolchain) and runs each for SECONDS (default 60) from its corpus in `fuzz/corpus/`. Prints
//! executions, executions per second, peak memory and new inputs per target; fails on any
//! crash, hang (an input taking over 10 s) or out-of-memory (over 2 GiB), naming the input
//! libFuzzer saved under `fuzz/artifacts/`.

use std::fs;
use std::process::{Command, Stdio};

use super::{root, run, Result};

/// The targets, one per parser of untrusted input (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "query",
    "settings",
    "pipeline_description",
    "flink_answers",
    "kafka_answers",
    "panel_frames",
];

/// How the targets are built, the same for `cargo fuzz build` and `run` (or `run` rebuilds):
/// no sanitizer, optimised with debug assertions, 16 codegen units.
const FUZZ_BUILD: &[&str] = &[
    "--sanitizer",
    "none",
    "--debug-assertions",
    "--codegen-units",
    "16",
];

/// cargo-fuzz is pinned like the other tools; [`install`] puts this version in place.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// What one run printed in libFuzzer's final stats.
struct Stats {
    runs: u64,
    per_second: u64,
    peak_rss_mb: u64,
    new_units: u64,
}

pub fn fuzz(args: &[String]) -> Result<()> {
    let seconds: u64 = match args.first() {
        Some(s) if s.chars().all(|c| c.is_ascii_digit()) => {
            s.parse().map_err(|e| format!("SECONDS: {e}"))?
        }
        _ => 60,
    };
    let named: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.chars().all(|c| c.is_ascii_digit()))
        .collect();
    if let Some(bad) = named.iter().find(|t| !TARGETS.contains(t)) {
        return Err(format!(
            "unknown fuzz target `{bad}`; targets: {}",
            TARGETS.join(", ")
        ));
    }
    let targets: Vec<&str> = if named.is_empty() {
        TARGETS.to_vec()
    } else {
        named
    };
    install()?;
    // One build for all targets: optimised, with debug assertions (overflow checks) on.
    run(Command::new("cargo")
        .args(["fuzz", "build"])
        .args(FUZZ_BUILD))?;
    let mut failed = Vec::new();
    println!("fuzz: {seconds} s per target");
    println!(
        "{:<22} {:>12} {:>10} {:>9} {:>6}",
        "target", "executions", "exec/s", "peak MB", "new"
    );
    for target in targets {
        match fuzz_one(target, seconds) {
            Ok(s) => println!(
                "{target:<22} {:>12} {:>10} {:>9} {:>6}",
                s.runs, s.per_second, s.peak_rss_mb, s.new_units
            ),
            Err(e) => {
                println!("{target:<22} FAILED: {e}");
                failed.push(target);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

fn fuzz_one(target: &str, seconds: u64) -> Result<Stats> {
    let root = root();
    let seeds = root.join("fuzz/corpus").join(target);
    fs::create_dir_all(&seeds).map_err(|e| format!("{}: {e}", seeds.display()))?;
    // New inputs go to a scratch corpus, so a run never rewrites the committed one.
    let scratch = root.join("target/fuzz-corpus").join(target);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let artifacts = root.join("fuzz/artifacts").join(target);
    fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    let out = Command::new("cargo")
        .current_dir(&root)
        .args(["fuzz", "run"])
        .args(FUZZ_BUILD)
        .arg(target)
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048"])
        .args(["-max_len=65536", "-close_fd_mask=1"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start cargo fuzz: {e}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let saved = log
            .lines()
            .filter(|l| l.contains("Test unit written to") || l.contains("panicked at"))
            .collect::<Vec<_>>()
            .join("; ");
        let last = log.lines().rev().take(30).collect::<Vec<_>>();
        eprintln!("--- {target}: the end of libFuzzer's log ---");
        for l in last.iter().rev() {
            eprintln!("{l}");
        }
        return Err(format!("{} ({saved})", out.status));
    }
    let stat = |name: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("libFuzzer printed no stat::{name}"))
    };
    Ok(Stats {
        runs: stat("number_of_executed_units")?,
        per_second: stat("average_exec_per_sec")?,
        peak_rss_mb: stat("peak_rss_mb")?,
        new_units: stat("new_units_added")?,
    })
}

/// Installs cargo-fuzz at [`CARGO_FUZZ_VERSION`] unless it is there.
pub fn install() -> Result<()> {
    let mut version = Command::new("cargo");
    version.args(["fuzz", "--version"]);
    if super::has_version(&mut version, "cargo-fuzz", CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    run(Command::new("cargo").args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_built_and_seeded() {
        let manifest = fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        let bins: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"'))
            .filter(|n| *n != "pipeline-fuzz")
            .collect();
        assert_eq!(
            bins, TARGETS,
            "fuzz/Cargo.toml's [[bin]]s and TARGETS differ"
        );
        for t in TARGETS {
            let seeds = fs::read_dir(root().join("fuzz/corpus").join(t))
                .map(|d| d.count())
                .unwrap_or(0);
            assert!(seeds > 0, "fuzz/corpus/{t}/ holds no seed");
        }
    }
}
