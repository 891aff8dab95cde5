//! What a Flink JobManager (or whatever answers at its URL) may send to each REST request of a
//! refresh: the job overview, then per job its detail, checkpoints and exceptions, per vertex
//! its backpressure, watermarks and rates, the TaskManagers and their metrics. Each answer is
//! decoded into its type and applied to the snapshot the way a refresh applies it, then every
//! job and TaskManager is judged. Any answer must give a verdict or be refused as not JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_backend::flink::assess::{assess_job, assess_task_manager};
use pipeline_backend::flink::model;
use pipeline_backend::flink::snapshot::{
    apply, apply_vertex, jobs_of, task_managers_of, Reply, Request,
};
use pipeline_backend::flink::WatermarkHistory;
use pipeline_model::Thresholds;
use serde::de::DeserializeOwned;

/// Decodes one answer's body as the type its request expects (a refresh refuses the rest).
fn body<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

// The input is text, readable and written from a real JobManager's answers
// (fuzz/corpus/flink_answers/): the overview's body, then answers separated by "\n---\n",
// each a line naming its request and indexes ("backpressure 0 2"), then its body.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut chunks = text.split("\n---\n");
    let Some(overview) = chunks.next().and_then(body::<model::JobsOverview>) else {
        return;
    };
    let mut jobs = jobs_of(overview, None);
    let mut task_managers = Vec::new();
    // Answers in any order and any number, as the bounded-concurrency refresh may apply them.
    for chunk in chunks.take(256) {
        let (head, text) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let mut words = head.split(' ');
        let kind = words.next().unwrap_or_default();
        let mut index = || {
            words
                .next()
                .and_then(|w| w.parse::<usize>().ok())
                .unwrap_or(0)
        };
        let (j, v) = (index(), index());
        let (request, reply) = match kind {
            "detail" => (Request::Detail(j), body(text).map(Reply::Detail)),
            "checkpoints" => (Request::Checkpoints(j), body(text).map(Reply::Checkpoints)),
            "exceptions" => (Request::Exceptions(j), body(text).map(Reply::Exceptions)),
            "taskmanagers" => (
                Request::TaskManagers,
                body(text).map(|l| Reply::TaskManagers(task_managers_of(l))),
            ),
            "backpressure" => (
                Request::Backpressure(j, v),
                body(text).map(Reply::Backpressure),
            ),
            "watermarks" => (Request::Watermarks(j, v), body(text).map(Reply::Metrics)),
            "rates" => (Request::Rates(j, v), body(text).map(Reply::Rates)),
            "taskmanager-metrics" => (
                Request::TaskManagerMetrics(j),
                body(text).map(Reply::Metrics),
            ),
            _ => continue,
        };
        let Some(reply) = reply else { continue };
        // A refresh only makes requests for jobs, vertices and TaskManagers it has.
        let has_vertex = |j: usize, v: usize| jobs.get(j).is_some_and(|job| v < job.vertices.len());
        match request {
            Request::TaskManagers => apply(&mut jobs, &mut task_managers, request, reply),
            Request::Detail(j) | Request::Checkpoints(j) | Request::Exceptions(j)
                if j < jobs.len() =>
            {
                apply(&mut jobs, &mut task_managers, request, reply)
            }
            Request::Backpressure(j, v) | Request::Watermarks(j, v) | Request::Rates(j, v)
                if has_vertex(j, v) =>
            {
                apply_vertex(&mut jobs, &mut task_managers, request, reply)
            }
            Request::TaskManagerMetrics(t) if t < task_managers.len() => {
                apply_vertex(&mut jobs, &mut task_managers, request, reply)
            }
            _ => {}
        }
    }
    let history = WatermarkHistory::default();
    let t = Thresholds::default();
    let now_ms = 1_700_000_000_000;
    for job in &jobs {
        // Twice: the second reading compares watermarks with the first.
        let _ = assess_job(job, Some(&history), &t, now_ms);
        let _ = assess_job(job, Some(&history), &t, now_ms + 5_000);
    }
    for tm in &task_managers {
        let _ = assess_task_manager(tm, &t);
    }
});
