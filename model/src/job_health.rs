//! One Flink job judged whole: what its state means, each vertex's verdict, where a stalled
//! watermark starts, the checkpoints (shown on the sinks, which commit them) and the
//! bottleneck. The Flink queries and the topology both read this one judgement, so they agree
//! by construction.

use crate::rules::{self, Verdict, VertexFacts};
use crate::{bottleneck, Health, NodeKind, ReasonCode, Thresholds};

/// What the judgement needs to know about one vertex.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexInput<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Flink's execution state of the vertex (RUNNING, SCHEDULED, ...); `None` when not read.
    pub status: Option<&'a str>,
    /// The figures [`rules::vertex`] grades (a watermark counts as stalled only when it did not
    /// move since the previous reading).
    pub facts: VertexFacts,
    /// Records per second the vertex emits: for a source, what it reads from Kafka.
    pub records_out_per_second: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobInput<'a> {
    pub name: &'a str,
    pub state: &'a str,
    pub vertices: Vec<VertexInput<'a>>,
    /// (upstream vertex id, downstream vertex id)
    pub edges: Vec<(&'a str, &'a str)>,
    /// Age of the last completed checkpoint (s, `None` before the first) and the checkpoints
    /// failed since; `None` when checkpoints were not read.
    pub checkpoints: Option<(Option<f64>, u64)>,
    /// The job's last exception (its root cause, first line), when read.
    pub last_exception: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobJudgement {
    /// Whether the job runs: `Healthy` when RUNNING with every task running, else why not.
    pub state: Verdict,
    /// One per vertex, in the input's order.
    pub vertices: Vec<Verdict>,
    /// Index of the vertex causing the backpressure.
    pub bottleneck: Option<usize>,
    pub checkpoints: Verdict,
}

/// Vertex kind from Flink's vertex name.
pub fn vertex_kind(name: &str) -> NodeKind {
    if name.starts_with("Source:") {
        NodeKind::FlinkSource
    } else if name.contains("Sink:") || name.contains("Writer") {
        NodeKind::FlinkSink
    } else {
        NodeKind::FlinkOperator
    }
}

/// The TaskManager an exception says was lost ("TaskManager with id 10.0.0.5:41234-3f1a2b is
/// no longer reachable", "The heartbeat of TaskManager with id … timed out").
pub fn lost_taskmanager(exception: &str) -> Option<&str> {
    let (_, rest) = exception.split_once("TaskManager with id ")?;
    let id = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()?
        .trim_end_matches('.');
    (!id.is_empty()).then_some(id)
}

/// States in which a job is on its way (back) to running, as opposed to stopped.
const RESTARTING_STATES: [&str; 5] = [
    "RESTARTING",
    "FAILING",
    "CREATED",
    "INITIALIZING",
    "RECONCILING",
];

/// Vertex states that are fine in a running job (a bounded source ends FINISHED).
const RUNNING_VERTEX_STATES: [&str; 2] = ["RUNNING", "FINISHED"];

fn job_state(job: &JobInput) -> Verdict {
    let waiting: Vec<&str> = job
        .vertices
        .iter()
        .filter_map(|v| v.status)
        .filter(|s| !RUNNING_VERTEX_STATES.contains(s))
        .collect();
    let mut verdict = if job.state == "RUNNING" && waiting.is_empty() {
        return Verdict::ok(format!("job {} is RUNNING", job.name));
    } else if job.state == "RUNNING" {
        Verdict::new(
            Health::Critical,
            ReasonCode::JobRestarting,
            format!(
                "job {} is restarting: {} of {} vertices not running ({})",
                job.name,
                waiting.len(),
                job.vertices.len(),
                waiting[0]
            ),
        )
    } else if RESTARTING_STATES.contains(&job.state) {
        Verdict::new(
            Health::Critical,
            ReasonCode::JobRestarting,
            format!("job {} is {}", job.name, job.state),
        )
    } else {
        Verdict::new(
            Health::Critical,
            ReasonCode::JobNotRunning,
            format!("job {} is {}", job.name, job.state),
        )
    };
    if verdict.has(ReasonCode::JobRestarting) {
        if let Some(tm) = job.last_exception.and_then(lost_taskmanager) {
            verdict.reason = format!("{}: TaskManager {tm} was lost", verdict.reason);
            verdict.codes.push(ReasonCode::TaskManagerLost);
        } else if let Some(e) = job.last_exception.map(str::trim).filter(|e| !e.is_empty()) {
            // Why it restarts, in Flink's words (a sink's database refusing connections, an
            // operator's error): the first line of the newest exception.
            verdict.reason = format!("{}: {e}", verdict.reason);
        }
    }
    verdict
}

pub fn judge(job: &JobInput, t: &Thresholds) -> JobJudgement {
    let state = job_state(job);
    let checkpoints = match job.checkpoints {
        Some((age, failed)) => rules::checkpoints(age, failed, t),
        None => Verdict::unknown(ReasonCode::NotJudged, "checkpoints not read"),
    };
    if state.health != Health::Ok {
        // A job that does not run has one verdict, shown on every vertex.
        return JobJudgement {
            vertices: vec![state.clone(); job.vertices.len()],
            state,
            bottleneck: None,
            checkpoints,
        };
    }
    let idle = input_idle(job);
    let mut vertices: Vec<Verdict> = job
        .vertices
        .iter()
        .map(|v| vertex_verdict(v, idle, t))
        .collect();
    hold_back_downstream_of_stalls(job, &mut vertices);
    show_checkpoints_on_sinks(job, &mut vertices, &checkpoints);
    let bottleneck = name_bottleneck(job, &mut vertices, t);
    JobJudgement {
        state,
        vertices,
        bottleneck,
        checkpoints,
    }
}

/// Every source reads nothing: a stopped producer, not a stuck job (a stuck job with a
/// backlog shows as its group's lag).
fn input_idle(job: &JobInput) -> bool {
    let mut sources = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(v.name) == NodeKind::FlinkSource)
        .peekable();
    sources.peek().is_some() && sources.all(|v| v.records_out_per_second == Some(0.0))
}

fn vertex_verdict(v: &VertexInput, idle: bool, t: &Thresholds) -> Verdict {
    let stalled = v
        .facts
        .watermark_stalled_seconds
        .is_some_and(|s| s >= t.watermark_stalled_seconds);
    if !(idle && stalled) {
        return rules::vertex(&v.facts, t);
    }
    // Without input a watermark cannot move: say so as a warning, not a stuck job.
    let facts = VertexFacts {
        watermark_stalled_seconds: None,
        watermark_lag_seconds: None,
        ..v.facts.clone()
    };
    Verdict::worst(
        [
            rules::vertex(&facts, t),
            Verdict::new(
                Health::Warning,
                ReasonCode::InputIdle,
                "no records arriving: the watermark waits for input",
            ),
        ],
        "",
    )
}

/// A stalled watermark is reported where it starts; downstream vertices only inherit it.
fn hold_back_downstream_of_stalls(job: &JobInput, vertices: &mut [Verdict]) {
    let stalled = |i: usize| job.vertices[i].facts.watermark_stalled_seconds.is_some();
    for (i, v) in job.vertices.iter().enumerate() {
        if !stalled(i) || !vertices[i].has(ReasonCode::WatermarkStalled) {
            continue;
        }
        let origin = job
            .edges
            .iter()
            .filter(|(_, down)| *down == v.id)
            .filter_map(|(up, _)| job.vertices.iter().position(|x| x.id == *up))
            .find(|&u| stalled(u));
        if let Some(u) = origin {
            vertices[i] = Verdict::new(
                Health::Warning,
                ReasonCode::WatermarkHeldUpstream,
                format!("watermark held back upstream by {}", job.vertices[u].name),
            );
        }
    }
}

/// Checkpoints complete when the sinks commit, so an overdue checkpoint is shown on the sinks
/// (or on the job's last vertices when no sink is recognised).
fn show_checkpoints_on_sinks(job: &JobInput, vertices: &mut [Verdict], checkpoints: &Verdict) {
    let mut sinks: Vec<usize> = (0..job.vertices.len())
        .filter(|&i| vertex_kind(job.vertices[i].name) == NodeKind::FlinkSink)
        .collect();
    if sinks.is_empty() {
        sinks = (0..job.vertices.len())
            .filter(|&i| !job.edges.iter().any(|(up, _)| *up == job.vertices[i].id))
            .collect();
    }
    // "No checkpoint yet" and "not read" are no finding on a sink that is otherwise judged.
    let says_something = checkpoints.health != Health::Unknown;
    for i in sinks {
        if says_something {
            vertices[i] = Verdict::worst([vertices[i].clone(), checkpoints.clone()], "");
        }
    }
}

fn name_bottleneck(job: &JobInput, vertices: &mut [Verdict], t: &Thresholds) -> Option<usize> {
    let loads: Vec<bottleneck::Load> = job
        .vertices
        .iter()
        .map(|v| {
            // Frozen figures point at whatever was busy when Flink last refreshed them.
            let current = v.facts.stale_for().is_none();
            bottleneck::Load {
                id: v.id,
                backpressure: v.facts.backpressure.filter(|_| current),
                busy: v.facts.busy.filter(|_| current),
            }
        })
        .collect();
    let cause_id = bottleneck::find(&loads, &job.edges, t)?;
    let cause = job.vertices.iter().position(|v| v.id == cause_id)?;
    let name = job.vertices[cause].name;
    let busy = job.vertices[cause].facts.busy.unwrap_or(0.0) * 100.0;
    let own = &vertices[cause];
    // Keep what else is wrong with it (an overdue checkpoint, a stalled watermark).
    let also = if own.health > Health::Ok {
        format!("; {}", own.reason)
    } else {
        String::new()
    };
    let mut codes = vec![ReasonCode::Bottleneck];
    let what = if vertex_kind(name) == NodeKind::FlinkSink {
        codes.push(ReasonCode::SinkBlocked);
        "; the sink cannot write as fast as records arrive"
    } else {
        ""
    };
    if own.health > Health::Ok {
        for c in &own.codes {
            if !codes.contains(c) {
                codes.push(*c);
            }
        }
    }
    vertices[cause] = Verdict {
        health: Health::Critical,
        reason: format!("bottleneck: busy {busy:.0} % while upstream is backpressured{what}{also}"),
        codes,
    };
    for (i, v) in vertices.iter_mut().enumerate() {
        if i != cause && v.has(ReasonCode::Backpressured) {
            v.reason = format!("{} (waiting on {name})", v.reason);
        }
    }
    Some(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertex<'a>(id: &'a str, name: &'a str, bp: f64, busy: f64) -> VertexInput<'a> {
        VertexInput {
            id,
            name,
            status: Some("RUNNING"),
            facts: VertexFacts {
                backpressure: Some(bp),
                busy: Some(busy),
                ..Default::default()
            },
            records_out_per_second: Some(100.0),
        }
    }

    fn job<'a>() -> JobInput<'a> {
        JobInput {
            name: "roas",
            state: "RUNNING",
            vertices: vec![
                vertex("src", "Source: clicks", 0.0, 0.1),
                vertex("join", "Join", 0.0, 0.2),
                vertex("sink", "Sink: pg", 0.0, 0.05),
            ],
            edges: vec![("src", "join"), ("join", "sink")],
            checkpoints: Some((Some(5.0), 0)),
            last_exception: None,
        }
    }

    fn t() -> Thresholds {
        Thresholds::default()
    }

    #[test]
    fn a_healthy_job_is_green_everywhere() {
        let j = judge(&job(), &t());
        assert_eq!(j.state.codes, vec![ReasonCode::Healthy]);
        assert!(j.vertices.iter().all(|v| v.health == Health::Ok), "{j:?}");
        assert_eq!(j.bottleneck, None);
    }

    #[test]
    fn a_slow_operator_is_the_bottleneck_and_its_inputs_wait_on_it() {
        let mut input = job();
        input.vertices[0].facts.backpressure = Some(0.9);
        input.vertices[1].facts.busy = Some(0.97);
        let j = judge(&input, &t());
        assert_eq!(j.bottleneck, Some(1));
        assert_eq!(j.vertices[1].codes, vec![ReasonCode::Bottleneck]);
        assert!(j.vertices[0].reason.ends_with("(waiting on Join)"));
        assert!(j.vertices[0].has(ReasonCode::Backpressured));
    }

    #[test]
    fn a_busy_sink_below_backpressure_is_a_blocked_sink() {
        let mut input = job();
        input.vertices[1].facts.backpressure = Some(0.95);
        input.vertices[2].facts.busy = Some(1.0);
        input.checkpoints = Some((Some(900.0), 3));
        let j = judge(&input, &t());
        assert_eq!(j.bottleneck, Some(2));
        let sink = &j.vertices[2];
        assert!(sink.has(ReasonCode::SinkBlocked), "{sink:?}");
        assert!(sink.has(ReasonCode::CheckpointOverdue), "{sink:?}");
        assert!(sink.reason.contains("cannot write"), "{}", sink.reason);
    }

    #[test]
    fn a_cancelled_job_is_not_running_on_every_vertex() {
        let mut input = job();
        input.state = "CANCELED";
        let j = judge(&input, &t());
        assert!(j.vertices.iter().all(|v| v.has(ReasonCode::JobNotRunning)));
        assert_eq!(j.vertices[0].reason, "job roas is CANCELED");
    }

    #[test]
    fn a_restart_for_another_reason_says_it_in_flinks_words() {
        let mut input = job();
        input.vertices[0].status = Some("CREATED");
        input.last_exception =
            Some("java.io.IOException: unable to open JDBC writer (Connection refused)");
        let j = judge(&input, &t());
        assert_eq!(j.state.codes, vec![ReasonCode::JobRestarting]);
        assert!(
            j.state.reason.ends_with(
                ": java.io.IOException: unable to open JDBC writer (Connection refused)"
            ),
            "{}",
            j.state.reason
        );
    }

    #[test]
    fn unscheduled_tasks_after_a_lost_taskmanager_name_it() {
        let mut input = job();
        input.vertices[1].status = Some("SCHEDULED");
        input.last_exception = Some(
            "org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id \
             127.0.0.1:40123-8a1c2e is no longer reachable.",
        );
        let j = judge(&input, &t());
        assert_eq!(
            j.state.codes,
            vec![ReasonCode::JobRestarting, ReasonCode::TaskManagerLost]
        );
        assert!(
            j.state
                .reason
                .ends_with("TaskManager 127.0.0.1:40123-8a1c2e was lost"),
            "{}",
            j.state.reason
        );
        assert_eq!(j.vertices[2], j.state);
        let mut restarting = job();
        restarting.state = "RESTARTING";
        assert!(judge(&restarting, &t())
            .state
            .has(ReasonCode::JobRestarting));
    }

    #[test]
    fn the_lost_taskmanager_is_read_from_either_message() {
        assert_eq!(
            lost_taskmanager("The heartbeat of TaskManager with id tm-1 timed out."),
            Some("tm-1")
        );
        assert_eq!(lost_taskmanager("java.lang.ArithmeticException"), None);
    }

    #[test]
    fn a_stall_is_critical_where_it_starts_and_inherited_below() {
        let mut input = job();
        for v in &mut input.vertices[1..] {
            v.facts.watermark_stalled_seconds = Some(900.0);
        }
        let j = judge(&input, &t());
        assert!(j.vertices[1].has(ReasonCode::WatermarkStalled));
        assert_eq!(j.vertices[1].health, Health::Critical);
        assert_eq!(j.vertices[2].codes, vec![ReasonCode::WatermarkHeldUpstream]);
        assert_eq!(j.vertices[2].reason, "watermark held back upstream by Join");
    }

    #[test]
    fn without_input_a_stalled_watermark_is_a_warning_not_an_alarm() {
        let mut input = job();
        input.vertices[0].records_out_per_second = Some(0.0);
        input.vertices[1].facts.watermark_stalled_seconds = Some(900.0);
        let j = judge(&input, &t());
        assert_eq!(j.vertices[1].health, Health::Warning);
        assert_eq!(j.vertices[1].codes, vec![ReasonCode::InputIdle]);
    }

    #[test]
    fn an_overdue_checkpoint_is_shown_on_the_sink_only() {
        let mut input = job();
        input.checkpoints = Some((Some(3600.0), 0));
        let j = judge(&input, &t());
        assert!(j.vertices[2].has(ReasonCode::CheckpointOverdue));
        assert_eq!(j.vertices[0].health, Health::Ok);
        // Before the first checkpoint the sink keeps its own verdict.
        input.checkpoints = Some((None, 0));
        assert_eq!(judge(&input, &t()).vertices[2].health, Health::Ok);
    }
}
