//! The soak: a dashboard's worth of panels queried every second through the plugin as Grafana
//! runs it, while the bed's faults come and go (a broker stopped, a TaskManager killed, the job
//! cancelled, the JobManager hung, the datasource's settings saved anew). Every answer is
//! checked (frames or an error that says something, within the datasource's timeout) and the
//! plugin's memory, threads and open files are sampled, so growth over time shows.
//!
//! `bed_pipeline::soak` runs it for 3 minutes; `cargo run -p pipeline-tests --release --bin
//! soak -- --minutes 30` for as long as asked, printing a row per minute.

use std::fs;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline_backend::flink::client::MAX_IN_FLIGHT;
use serde_json::json;

use crate::bed::assembly::Bed;
use crate::bed::control::Fault;
use crate::bed::process::status_fields;
use crate::bed::roas::GROUP;
use crate::host::{DatasourceConfig, PluginHost, Query};

/// One panel: one QueryData request (Grafana sends one per panel), its queries by refId.
pub struct Panel {
    pub title: &'static str,
    pub queries: Vec<Query>,
}

/// The panels of a pipeline dashboard: the topology, the `health` series alert rules use, the
/// Kafka lag tables and the Flink panels.
pub fn dashboard() -> Vec<Panel> {
    let q = Query::new;
    vec![
        Panel {
            title: "topology",
            queries: vec![q("A", "topology", json!({}))],
        },
        Panel {
            title: "health",
            queries: vec![
                q("A", "health", json!({"metric": "status"})),
                q("B", "health", json!({"metric": "lag"})),
            ],
        },
        Panel {
            title: "consumer lag",
            queries: vec![q(
                "A",
                "consumerLag",
                json!({"group": GROUP, "granularity": "partition"}),
            )],
        },
        Panel {
            title: "time lag",
            queries: vec![q("A", "timeLag", json!({"group": GROUP}))],
        },
        Panel {
            title: "cluster",
            queries: vec![q("A", "clusterHealth", json!({}))],
        },
        Panel {
            title: "flink jobs",
            queries: vec![q("A", "jobs", json!({})), q("B", "checkpoints", json!({}))],
        },
        Panel {
            title: "flink load",
            queries: vec![
                q("A", "backpressure", json!({})),
                q("B", "watermarks", json!({})),
            ],
        },
        Panel {
            title: "flink cluster",
            queries: vec![
                q("A", "taskManagers", json!({})),
                q("B", "jobGraph", json!({})),
            ],
        },
    ]
}

/// What the soak does to the pipeline, in turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Fault(Fault),
    /// The datasource's settings saved again (another query timeout): the plugin rebuilds it.
    SaveSettings,
}

/// Each fault and what undoes it.
pub fn faults() -> Vec<(Action, Action)> {
    let f = Action::Fault;
    vec![
        (f(Fault::StopBroker(2)), f(Fault::StartBroker(2))),
        (f(Fault::KillTaskManager), f(Fault::StartTaskManager)),
        (f(Fault::CancelJob), f(Fault::ResubmitJob)),
        (f(Fault::PauseJobManager), f(Fault::ResumeJobManager)),
        (Action::SaveSettings, Action::SaveSettings),
    ]
}

/// One panel's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Seconds since the soak started.
    pub at: f64,
    pub panel: &'static str,
    pub seconds: f64,
    /// Queries answered with frames, and with an error.
    pub frames: usize,
    pub errors: usize,
    /// What is wrong with the answer (a query without one, an empty error, no answer in time).
    pub problems: Vec<String>,
}

/// The plugin process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: f64,
    pub rss_kib: u64,
    pub threads: u64,
    pub fds: u64,
}

/// A quantity of the process, how it is read from a sample and the most it may grow to.
type Bound = (&'static str, fn(&Sample) -> u64, fn(u64) -> u64);

/// The level of a quantity over part of the run (its peak or its median), from sorted samples.
type Level = fn(&[u64]) -> u64;

#[derive(Debug, Default)]
pub struct Report {
    pub replies: Vec<Reply>,
    pub samples: Vec<Sample>,
    /// Each action taken, when, and what the bed said.
    pub actions: Vec<(f64, String)>,
    pub plugin_exited: bool,
    /// The plugin's last log lines (its own, not the HTTP/2 libraries'), kept when it exited.
    pub last_words: String,
    /// The plugin's HTTP/2 log lines about errors, go-aways and resets: where to look when a
    /// request failed as a whole (a transport error) while the plugin stayed up.
    pub connection_log: String,
}

/// RSS, threads and open files of a live process, from /proc.
pub fn sample(pid: u32, at: f64) -> Option<Sample> {
    let [rss_kib, threads] = status_fields(pid, &["VmRSS:", "Threads:"])?[..] else {
        return None;
    };
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        at,
        rss_kib,
        threads,
        fds,
    })
}

/// Starts the plugin binary and queries every panel once a second for `length` while a second
/// thread takes the actions in turn: each fault held for `hold`, undone, then `hold` of quiet.
/// Blocks until both are done.
pub fn run(bed: &Bed, ds: DatasourceConfig, length: Duration, hold: Duration) -> Report {
    let (runtime, host) = PluginHost::start_blocking();
    let t0 = Instant::now();
    let ds = Arc::new(Mutex::new(ds));
    let actions = Arc::new(Mutex::new(Vec::new()));
    let (replies, samples, exited, last_words, connection_log) = std::thread::scope(|s| {
        s.spawn(|| take_actions(bed, &ds, &actions, t0, length, hold));
        runtime.block_on(query_loop(host, ds.clone(), t0, length))
    });
    let actions = std::mem::take(&mut *actions.lock().unwrap());
    Report {
        replies,
        samples,
        actions,
        plugin_exited: exited,
        last_words,
        connection_log,
    }
}

fn take_actions(
    bed: &Bed,
    ds: &Mutex<DatasourceConfig>,
    log: &Mutex<Vec<(f64, String)>>,
    t0: Instant,
    length: Duration,
    hold: Duration,
) {
    let act = |a: &Action| {
        let said = match a {
            Action::Fault(f) => bed.apply(f),
            Action::SaveSettings => save_settings(&mut ds.lock().unwrap()),
        };
        let at = t0.elapsed().as_secs_f64();
        log.lock()
            .unwrap()
            .push((at, format!("{a:?} {said}").trim().to_string()));
    };
    for (fault, undo) in faults().iter().cycle() {
        // Quiet first, and no fault started that could not be undone in time.
        std::thread::sleep(hold);
        if t0.elapsed() + 2 * hold > length {
            return;
        }
        act(fault);
        std::thread::sleep(hold);
        act(undo);
    }
}

/// The settings saved again, with the query timeout switched between 20 s and 15 s.
fn save_settings(ds: &mut DatasourceConfig) -> String {
    let now = ds.json_data["queryTimeoutSeconds"].as_f64().unwrap_or(20.0);
    let next = if now == 20.0 { 15.0 } else { 20.0 };
    ds.json_data["queryTimeoutSeconds"] = json!(next);
    ds.updated_ms += 1000;
    format!("queryTimeoutSeconds {next}")
}

/// The timeout Grafana would give up after: the datasource's, and a margin for the transport.
fn bound(ds: &DatasourceConfig) -> Duration {
    let s = ds.json_data["queryTimeoutSeconds"].as_f64().unwrap_or(10.0);
    Duration::from_secs_f64(s) + Duration::from_secs(2)
}

async fn query_loop(
    host: PluginHost,
    ds: Arc<Mutex<DatasourceConfig>>,
    t0: Instant,
    length: Duration,
) -> (Vec<Reply>, Vec<Sample>, bool, String, String) {
    let pid = host.pid().expect("the plugin's pid");
    let host = Arc::new(host);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut asked = Vec::new();
    let mut samples = Vec::new();
    let mut exited = false;
    let mut second = 0u64;
    while t0.elapsed() < length {
        tick.tick().await;
        if second.is_multiple_of(5) {
            match sample(pid, t0.elapsed().as_secs_f64()) {
                Some(s) => samples.push(s),
                None => exited = true,
            }
        }
        second += 1;
        let config = ds.lock().unwrap().clone();
        for panel in dashboard() {
            let (host, config) = (host.clone(), config.clone());
            let key = (t0.elapsed().as_secs_f64(), panel.title);
            let task = tokio::spawn(async move { ask(&host, &config, panel, t0).await });
            asked.push((task, key));
        }
    }
    let mut replies = Vec::new();
    for (a, (at, panel)) in asked {
        // `PluginHost::query` panics when QueryData fails as a whole: that is a problem too.
        replies.push(a.await.unwrap_or_else(|e| Reply {
            at,
            panel,
            seconds: 0.0,
            frames: 0,
            errors: 0,
            problems: vec![format!("the request failed as a whole: {e}")],
        }));
    }
    let mut host = Arc::into_inner(host).expect("every panel's task is done");
    exited |= !host.is_running();
    let last_words = if exited {
        // How it ended (an exit code, or the signal: SIGABRT from a failed assertion in C,
        // SIGSEGV, SIGKILL from outside) says where to look before its log does.
        let status = host
            .exit_status()
            .unwrap_or_else(|| "still running (its /proc entry could not be read)".into());
        format!("{status}\n{}", last_words(&host.log()))
    } else {
        String::new()
    };
    let connection_log = connection_log(&host.log());
    (replies, samples, exited, last_words, connection_log)
}

/// Whether a log line is the HTTP/2 libraries' (h2, hyper) rather than the plugin's own.
fn is_http2(line: &str) -> bool {
    ["\"target\":\"h2", "\"target\":\"hyper"]
        .iter()
        .any(|t| line.contains(t))
}

/// The last 40 lines of the plugin's log that are not the HTTP/2 libraries' debug chatter.
fn last_words(log: &str) -> String {
    let own: Vec<&str> = log.lines().filter(|l| !is_http2(l)).collect();
    own[own.len().saturating_sub(40)..].join("\n")
}

/// The last 30 HTTP/2 log lines of the plugin that tell of a failing stream or connection.
fn connection_log(log: &str) -> String {
    let failing: Vec<&str> = log
        .lines()
        .filter(|l| is_http2(l))
        .filter(|l| {
            ["error", "GoAway", "go_away", "reset"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    failing[failing.len().saturating_sub(30)..].join("\n")
}

async fn ask(host: &PluginHost, ds: &DatasourceConfig, panel: Panel, t0: Instant) -> Reply {
    let started = Instant::now();
    let at = t0.elapsed().as_secs_f64();
    let answer = tokio::time::timeout(bound(ds), host.query(ds, &panel.queries)).await;
    let seconds = started.elapsed().as_secs_f64();
    let mut reply = Reply {
        at,
        panel: panel.title,
        seconds,
        frames: 0,
        errors: 0,
        problems: Vec::new(),
    };
    let Ok(answers) = answer else {
        reply
            .problems
            .push(format!("no answer within {:?}", bound(ds)));
        return reply;
    };
    for q in &panel.queries {
        match answers.get(&q.ref_id) {
            None => reply
                .problems
                .push(format!("{} {}: no answer", q.ref_id, q.query_type)),
            Some(a) if a.error.is_empty() => reply.frames += 1,
            Some(a) if a.error.trim().len() < 12 || a.error.contains("panicked") => {
                reply.problems.push(format!(
                    "{} {}: unclear error `{}`",
                    q.ref_id, q.query_type, a.error
                ))
            }
            Some(_) => reply.errors += 1,
        }
    }
    reply
}

/// The `p`-quantile (0..=1) of `values`, nearest rank; 0 for none.
pub fn quantile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n => v[((p * n as f64).ceil() as usize).clamp(1, n) - 1],
    }
}

impl Report {
    /// A row per `every` of the run: answers, errors, latency percentiles, the plugin's size.
    pub fn table(&self, every: f64) -> String {
        let end = self.replies.iter().map(|r| r.at).fold(0.0, f64::max);
        let mut out = String::from(
            "   from    panels  errors  problems  p50 ms  p95 ms  p99 ms  max ms   RSS MiB  threads  fds\n",
        );
        let mut from = 0.0;
        while from <= end {
            let to = from + every;
            let rs: Vec<&Reply> = self
                .replies
                .iter()
                .filter(|r| r.at >= from && r.at < to)
                .collect();
            let lat: Vec<f64> = rs.iter().map(|r| r.seconds * 1000.0).collect();
            let ss: Vec<&Sample> = self
                .samples
                .iter()
                .filter(|s| s.at >= from && s.at < to)
                .collect();
            let max = |f: fn(&Sample) -> u64| ss.iter().map(|s| f(s)).max().unwrap_or(0);
            out.push_str(&format!(
                "{:>6.0} s {:>8} {:>7} {:>9} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>9.1} {:>8} {:>4}\n",
                from,
                rs.len(),
                rs.iter().map(|r| r.errors).sum::<usize>(),
                rs.iter().map(|r| r.problems.len()).sum::<usize>(),
                quantile(&lat, 0.5),
                quantile(&lat, 0.95),
                quantile(&lat, 0.99),
                quantile(&lat, 1.0),
                max(|s| s.rss_kib) as f64 / 1024.0,
                max(|s| s.threads),
                max(|s| s.fds),
            ));
            from = to;
        }
        out
    }

    /// Every reply's problems, with when and which panel.
    pub fn problems(&self) -> Vec<String> {
        self.replies
            .iter()
            .flat_map(|r| {
                r.problems
                    .iter()
                    .map(move |p| format!("{:.0} s {}: {p}", r.at, r.panel))
            })
            .collect()
    }

    /// What grew between the second quarter of the run (after warm-up) and the last, and what
    /// went past its ceiling. RSS compares peaks (more than a quarter and 32 MiB). Threads and
    /// open files compare their medians (more than 16): a leak raises the level they return to,
    /// while a fault only lifts them while it lasts (a hung JobManager holds up to
    /// [`MAX_IN_FLIGHT`] sockets until their timeouts). That lift is bounded too: open files
    /// never exceed the level after warm-up by more than twice [`MAX_IN_FLIGHT`].
    pub fn growth(&self) -> Vec<String> {
        let end = self.samples.last().map_or(0.0, |s| s.at);
        let during = |from: f64, to: f64, f: fn(&Sample) -> u64| -> Vec<u64> {
            let mut v: Vec<u64> = self
                .samples
                .iter()
                .filter(|s| s.at >= from && s.at <= to)
                .map(f)
                .collect();
            v.sort_unstable();
            v
        };
        let peak = |v: &[u64]| v.last().copied().unwrap_or(0);
        let median = |v: &[u64]| v.get(v.len() / 2).copied().unwrap_or(0);
        let mut grew = Vec::new();
        let checks: [(Bound, Level); 3] = [
            (("RSS KiB", |s| s.rss_kib, |b| b + b / 4 + 32 * 1024), peak),
            (("threads (median)", |s| s.threads, |b| b + 16), median),
            (("open files (median)", |s| s.fds, |b| b + 16), median),
        ];
        for ((name, f, limit), level) in checks {
            let early = level(&during(end * 0.25, end * 0.5, f));
            let late = level(&during(end * 0.75, end, f));
            if late > limit(early) {
                grew.push(format!("{name}: {early} after warm-up, {late} at the end"));
            }
        }
        let fds = |s: &Sample| s.fds;
        let ceiling = median(&during(end * 0.25, end * 0.5, fds)) + 2 * MAX_IN_FLIGHT as u64;
        let most = peak(&during(end * 0.25, end, fds));
        if most > ceiling {
            grew.push(format!(
                "open files: {most} at the most, above the ceiling of {ceiling}"
            ));
        }
        grew
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_is_sampled_and_a_gone_one_is_not() {
        let s = sample(std::process::id(), 1.0).expect("this process");
        assert!(s.rss_kib > 0 && s.threads >= 1 && s.fds >= 3, "{s:?}");
        assert!(sample(u32::MAX, 1.0).is_none());
    }

    /// A minute of samples, one a second: `fds(t)` open files at second t.
    fn report_of(fds: impl Fn(u64) -> u64) -> Report {
        let samples = (0..=60)
            .map(|t| Sample {
                at: t as f64,
                rss_kib: 40 * 1024,
                threads: 20,
                fds: fds(t),
            })
            .collect();
        Report {
            samples,
            ..Report::default()
        }
    }

    #[test]
    fn a_fault_that_lifts_open_files_while_it_lasts_is_not_growth() {
        // 66 open files; a hung JobManager adds MAX_IN_FLIGHT for 8 s, late in the run.
        let spike = MAX_IN_FLIGHT as u64;
        let report = report_of(|t| {
            if (48..56).contains(&t) {
                66 + spike
            } else {
                66
            }
        });
        assert_eq!(report.growth(), Vec::<String>::new());
    }

    #[test]
    fn open_files_that_do_not_come_back_down_are_growth() {
        // One socket leaked every second: the level rises by 30 between the quarters.
        let report = report_of(|t| 66 + t);
        let grew = report.growth();
        assert!(
            grew.iter().any(|g| g.starts_with("open files (median)")),
            "{grew:?}"
        );
    }

    #[test]
    fn a_socket_per_panel_during_a_fault_passes_the_ceiling() {
        // What a hung JobManager did before requests in flight were bounded: ~200 sockets.
        let report = report_of(|t| if (40..50).contains(&t) { 260 } else { 66 });
        let grew = report.growth();
        assert!(
            grew.iter().any(|g| g.contains("above the ceiling")),
            "{grew:?}"
        );
    }
}
