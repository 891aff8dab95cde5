//! Burrow on the same cluster as the peer: how long it takes to list every group, one scrape
//! of every group's lag over its HTTP API, and its memory.

use super::*;

/// What Burrow did with the same cluster.
pub struct BurrowRun {
    pub listed_after: Duration,
    pub scrape: Duration,
    pub cached_scrape: Duration,
    pub rss_kib: Option<u64>,
    pub hwm_kib: Option<u64>,
    pub wrong_lags: usize,
    pub failed_requests: usize,
}

/// Starts Burrow on the bed, waits until it lists all `groups`, then scrapes every group's lag
/// one request after another (twice: the second pass hits its evaluator's 10 s cache).
/// `Err` says why Burrow could not be measured, with its log's warnings and errors.
pub fn run_burrow(
    bed: &KafkaBed,
    plan: &Plan,
    groups: usize,
    run_dir: &Path,
) -> Result<BurrowRun, String> {
    let mut options = BurrowOptions::new(BURROW_CLUSTER, "^bench-g.*$");
    options.client_id = "burrow-bench".into();
    let burrow = Burrow::try_start(&bed.kafka, run_dir, options)?;
    let listed_after = burrow.wait_listed(
        |names| {
            let n = names.iter().filter(|n| n.starts_with("bench-g")).count();
            if n >= groups {
                Ok(())
            } else {
                Err(format!("lists {n} of {groups} groups"))
            }
        },
        BURROW_BOUND,
    )?;
    let get = |path: &str| burrow.get(path);
    let list_path = format!("/v3/kafka/{BURROW_CLUSTER}/consumer");

    // One scrape: the group list, then each group's lag, as a collector of every group does.
    let scrape = || {
        let t0 = Instant::now();
        let mut failed = 0;
        let mut lags = HashMap::new();
        if get(&list_path).is_err() {
            failed += 1;
        }
        for g in 0..groups {
            let name = plan.group(g);
            match get(&format!("/v3/kafka/{BURROW_CLUSTER}/consumer/{name}/lag")) {
                Ok(v) if v["error"] == false => {
                    lags.insert(g, v["status"]["totallag"].as_i64());
                }
                _ => failed += 1,
            }
        }
        (t0.elapsed(), lags, failed)
    };
    let (scrape_time, lags, failed_requests) = scrape();
    let (cached_scrape, _, _) = scrape();
    let wrong_lags = (0..groups)
        .filter(|g| lags.get(g).copied().flatten() != Some(plan.lag(*g)))
        .count();
    let pid = burrow
        .pid()
        .ok_or_else(|| "Burrow has no PID".to_string())?;
    let run = BurrowRun {
        listed_after,
        scrape: scrape_time,
        cached_scrape,
        rss_kib: proc_status_kib(pid, "VmRSS:"),
        hwm_kib: proc_status_kib(pid, "VmHWM:"),
        wrong_lags,
        failed_requests,
    };
    let problems = burrow.problems();
    if !problems.is_empty() {
        println!(
            "Burrow's log has warnings or errors ({}):",
            burrow.log_path().display()
        );
        for l in problems.iter().take(8) {
            println!("  {l}");
        }
    }
    Ok(run)
}
