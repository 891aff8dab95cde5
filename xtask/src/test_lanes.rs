//! `cargo xtask test [LANES] [-- ARGS]`: every Rust test of the workspace, what
//! `cargo test --workspace --no-fail-fast` runs, with LANES (default 1) test executables running
//! at once. `cargo test` itself runs one executable after another and holds the build
//! directory's lock while they run, so lanes need this runner. On a 2-core machine one lane is
//! right: two bed suites side by side ran each about 1.7 times slower (a bed keeps its JVMs
//! busy), which gained nothing and made timing bounds fail; more cores can take more. ARGS go
//! to every test executable (`-- --nocapture`).
//!
//! Each executable's output goes to `tests/output/rust/<name>.log` as it runs and is printed
//! whole when it ends, so lanes never interleave; a table of durations ends the run.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{root, run, Result};

/// The longest suites, longest first, so that with several lanes they start first and the
/// short ones fill the other lanes around them. A suite missing here only runs later, never
/// not at all.
const LONGEST_FIRST: &[&str] = &["bed_pipeline", "pipeline_real", "kafka_real", "bed_kafka"];

/// One test executable as cargo built it.
struct Suite {
    /// The target's name (`bed_pipeline`, or the package's for its unit tests).
    name: String,
    /// What cargo prints: `tests/bed_pipeline/main.rs`, `src/lib.rs`.
    source: String,
    executable: PathBuf,
    /// Cargo runs test executables in their package's directory.
    package_dir: PathBuf,
    package: String,
}

struct Outcome {
    label: String,
    took: Duration,
    passed: bool,
}

pub fn test(args: &[String]) -> Result<()> {
    let (own, passed_on) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let lanes: usize = match own.first() {
        Some(n) => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("LANES must be a number above 0, not `{n}`"))?,
        None => 1,
    };
    // Doc tests are compiled by rustdoc, not listed as executables: cargo runs them, briefly.
    run(Command::new("cargo").args(["test", "--workspace", "--doc"]))?;
    let mut suites = built_suites()?;
    suites.sort_by_key(|s| {
        LONGEST_FIRST
            .iter()
            .position(|&n| n == s.name)
            .unwrap_or(LONGEST_FIRST.len())
    });
    let logs = root().join("tests/output/rust");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let queue = Mutex::new(VecDeque::from(suites));
    let outcomes = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..lanes {
            scope.spawn(|| loop {
                let Some(suite) = queue.lock().expect("queue").pop_front() else {
                    return;
                };
                let outcome = run_suite(&suite, passed_on, &logs);
                outcomes.lock().expect("outcomes").push(outcome);
            });
        }
    });
    let outcomes = outcomes.into_inner().expect("outcomes");
    println!(
        "\nrust tests: {} executables in {} lanes, {:.0} s",
        outcomes.len(),
        lanes,
        started.elapsed().as_secs_f64()
    );
    for o in &outcomes {
        let verdict = if o.passed { "ok" } else { "FAILED" };
        println!("{:>8.1} s  {verdict:<6}  {}", o.took.as_secs_f64(), o.label);
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.label.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

/// Builds every test executable (`cargo test --no-run`) and reads their paths from cargo's
/// JSON messages; compiler errors are rendered on stderr as usual.
fn built_suites() -> Result<Vec<Suite>> {
    let out = Command::new("cargo")
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo test --no-run failed with {}", out.status));
    }
    let mut suites = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(suite) = test_executable(&message) {
            suites.push(suite);
        }
    }
    if suites.is_empty() {
        return Err("cargo built no test executable".into());
    }
    Ok(suites)
}

/// A `compiler-artifact` message of a test build with an executable, as a [`Suite`].
fn test_executable(message: &Value) -> Option<Suite> {
    if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
        return None;
    }
    let executable = PathBuf::from(message["executable"].as_str()?);
    let manifest = Path::new(message["manifest_path"].as_str()?);
    let package_dir = manifest.parent()?.to_path_buf();
    let target = &message["target"];
    let src = Path::new(target["src_path"].as_str()?);
    let source = src
        .strip_prefix(&package_dir)
        .unwrap_or(src)
        .display()
        .to_string();
    let package = package_name(message["package_id"].as_str()?);
    Some(Suite {
        name: target["name"].as_str()?.to_string(),
        source,
        executable,
        package_dir,
        package,
    })
}

/// The name in a package id: `path+file:///r/tests#pipeline-tests@0.1.0`, or the directory's
/// name when it is the package's (`path+file:///r/xtask#0.1.0`), or the old form
/// `pipeline-tests 0.1.0 (path+file:///r/tests)`.
fn package_name(id: &str) -> String {
    match id.rsplit_once('#') {
        Some((_, name_version)) if name_version.contains('@') => {
            name_version.split('@').next().unwrap_or(name_version)
        }
        Some((url, _)) => url.rsplit('/').next().unwrap_or(url),
        None => id.split(' ').next().unwrap_or(id),
    }
    .to_string()
}

/// Runs one executable with its output in `logs/`, then prints that output whole.
fn run_suite(suite: &Suite, args: &[String], logs: &Path) -> Outcome {
    let label = format!("{} {}", suite.package, suite.source);
    let stem = suite
        .executable
        .file_name()
        .map_or_else(|| suite.name.clone(), |f| f.to_string_lossy().into_owned());
    let log_path = logs.join(format!("{stem}.log"));
    let started = Instant::now();
    let passed = match File::create(&log_path).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok((out, err)) => Command::new(&suite.executable)
            .args(args)
            .current_dir(&suite.package_dir)
            // What cargo sets when it runs a test executable.
            .env("CARGO_MANIFEST_DIR", &suite.package_dir)
            .env("CARGO_PKG_NAME", &suite.package)
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| eprintln!("xtask: cannot start {}: {e}", suite.executable.display()))
            .is_ok_and(|s| s.success()),
        Err(e) => {
            eprintln!("xtask: {}: {e}", log_path.display());
            false
        }
    };
    let took = started.elapsed();
    let printed = fs::read_to_string(&log_path).unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    // Best effort: a closed stdout must not hide the verdict, which the table repeats.
    let _ = writeln!(
        stdout,
        "\n     Running {} ({}) in {:.1} s\n{printed}",
        suite.source,
        suite.executable.display(),
        took.as_secs_f64()
    );
    Outcome {
        label,
        took,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_ids_of_each_form_name_their_package() {
        assert_eq!(
            package_name("path+file:///r/tests#pipeline-tests@0.1.0"),
            "pipeline-tests"
        );
        assert_eq!(package_name("path+file:///r/xtask#0.1.0"), "xtask");
        assert_eq!(
            package_name("pipeline-tests 0.1.0 (path+file:///r/tests)"),
            "pipeline-tests"
        );
    }
}
