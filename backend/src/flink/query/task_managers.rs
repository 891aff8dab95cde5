//! The `taskManagers` query: slots, heap and CPU of each TaskManager.

use grafana_plugin_sdk::data::Frame;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{meta, refresh, Selection};
use crate::error::QueryError;
use crate::flink::assess::assess_task_manager;
use crate::flink::snapshot::Parts;
use crate::flink::FlinkClient;
use crate::frames::{verdict_fields, Columns};

pub async fn task_managers(client: &FlinkClient, t: &Thresholds) -> Result<Vec<Frame>, QueryError> {
    // TaskManagers belong to the cluster, not to a job: no per-job requests.
    let sel = Selection {
        job: None,
        vertex: None,
    };
    let parts = Parts {
        jobs: false,
        task_managers: true,
        ..Parts::JOBS
    };
    let snap = refresh(client, &sel, parts).await?;
    let tms = &snap.task_managers;
    let verdicts: Vec<_> = tms.iter().map(|tm| assess_task_manager(tm, t)).collect();
    let frame = Columns::over(tms)
        .col("id", |tm| tm.id.clone())
        .col("slots", |tm| tm.slots)
        .shown("Slots", Some("short"))
        .col("freeSlots", |tm| tm.free_slots)
        .shown("Free slots", Some("short"))
        .opt("heapUsed", |tm| tm.heap_used_bytes)
        .shown("Heap used", Some("bytes"))
        .opt("heapMax", |tm| tm.heap_max_bytes)
        .shown("Heap max", Some("bytes"))
        .opt("heapRatio", |tm| tm.heap_ratio())
        .shown("Heap used of max", Some("percentunit"))
        .opt("cpuLoad", |tm| tm.cpu_load)
        .shown("CPU load", Some("percentunit"))
        .fields(verdict_fields(verdicts.iter()))
        .frame("taskManagers")
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
