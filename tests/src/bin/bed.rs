//! The real-pipeline test bed for a person or a script: starts everything on loopback
//! (ZooKeeper, 3 Kafka brokers, PostgreSQL, Flink with the ROAS job, the generator), writes
//! where everything listens as JSON (`--json PATH`, and to stdout after `READY`; the file is
//! written again after each command, as a part that comes back may listen elsewhere), then reads
//! fault commands on stdin, one per line (`stop-broker 2`, `slow-operator 20`, ...; see
//! `pipeline_tests::bed::control`), answering `OK <command>` or `ERR <reason>`. Closing stdin
//! (Ctrl-D) ends every process of the bed.
//!
//!     cargo run -p pipeline-tests --bin bed -- --json /tmp/bed.json

use std::io::{BufRead, Write};

use pipeline_tests::bed::assembly::Bed;
use pipeline_tests::bed::control::{Fault, USAGE};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut json_path = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json_path = args.next(),
            "-h" | "--help" => {
                println!("usage: bed [--json PATH]\nstdin commands: {USAGE}");
                return;
            }
            other => {
                eprintln!("bed: unknown argument `{other}` (usage: bed [--json PATH])");
                std::process::exit(2);
            }
        }
    }
    let bed = Bed::start("bed");
    let description = bed.describe();
    let write_description = |description: &serde_json::Value| {
        if let Some(path) = &json_path {
            let text = serde_json::to_string_pretty(description).expect("JSON");
            std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        }
    };
    write_description(&description);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "READY {}",
        serde_json::to_string(&description).expect("JSON")
    )
    .ok();
    out.flush().ok();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match Fault::parse(&line) {
            Ok(fault) => {
                let done =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bed.apply(&fault)));
                match done {
                    Ok(detail) if detail.is_empty() => format!("OK {fault}"),
                    Ok(detail) => format!("OK {fault} {detail}"),
                    Err(panic) => {
                        let why = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "failed".into());
                        format!("ERR {fault}: {}", why.replace('\n', " | "))
                    }
                }
            }
            Err(e) => format!("ERR {e}"),
        };
        // A TaskManager started again listens on new ports: the description says where.
        write_description(&bed.describe());
        writeln!(out, "{answer}").ok();
        out.flush().ok();
    }
    drop(bed);
}
