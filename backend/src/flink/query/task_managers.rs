//! The `taskManagers` query: slots, heap and CPU of each TaskManager.

use grafana_plugin_sdk::data::Frame;
use grafana_plugin_sdk::prelude::*;
use pipeline_model::Thresholds;
use serde_json::json;

use super::{meta, refresh, Selection};
use crate::error::QueryError;
use crate::flink::assess::assess_task_manager;
use crate::flink::snapshot::Parts;
use crate::flink::FlinkClient;
use crate::frames::{describe, verdict_fields};

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
    let frame = Frame::new("taskManagers")
        .with_fields(
            [
                tms.iter().map(|tm| tm.id.clone()).into_field("id"),
                describe(
                    tms.iter().map(|tm| tm.slots).into_field("slots"),
                    "Slots",
                    Some("short"),
                ),
                describe(
                    tms.iter().map(|tm| tm.free_slots).into_field("freeSlots"),
                    "Free slots",
                    Some("short"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_used_bytes)
                        .into_opt_field("heapUsed"),
                    "Heap used",
                    Some("bytes"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_max_bytes)
                        .into_opt_field("heapMax"),
                    "Heap max",
                    Some("bytes"),
                ),
                describe(
                    tms.iter()
                        .map(|tm| tm.heap_ratio())
                        .into_opt_field("heapRatio"),
                    "Heap used of max",
                    Some("percentunit"),
                ),
                describe(
                    tms.iter().map(|tm| tm.cpu_load).into_opt_field("cpuLoad"),
                    "CPU load",
                    Some("percentunit"),
                ),
            ]
            .into_iter()
            .chain(verdict_fields(verdicts.iter())),
        )
        .with_metadata(meta(&snap, json!({})));
    Ok(vec![frame])
}
