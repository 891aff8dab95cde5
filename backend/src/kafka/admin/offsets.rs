//! The offset requests: ListConsumerGroupOffsets (every committed offset of each group, many
//! requests in flight on one queue, told apart by their opaque) and ListOffsets (log-end
//! offsets per partition).

use std::time::{Duration, Instant};

use rdkafka::bindings as rd;

use super::ffi::{self, native, Options, OwnedPartitions, ResultQueue};
use super::{one_result, AdminError, CommittedOffset, PartitionResult};
use crate::kafka::client::ObserverConsumer;

/// Every committed offset of each group (OffsetFetch with no partition list: all of them),
/// up to `in_flight` requests at once on the one client. Results are in the order of `groups`;
/// a group that failed or had no answer by the deadline has its own error.
pub fn group_offsets(
    consumer: &ObserverConsumer,
    groups: &[String],
    timeout: Duration,
    in_flight: usize,
) -> Vec<Result<Vec<CommittedOffset>, AdminError>> {
    let deadline = Instant::now() + timeout;
    let mut results: Vec<Option<Result<Vec<CommittedOffset>, AdminError>>> =
        (0..groups.len()).map(|_| None).collect();
    let rk = native(consumer);
    let queue = ResultQueue::new(rk);
    let (mut next, mut pending) = (0usize, 0usize);
    while next < groups.len() || pending > 0 {
        while next < groups.len() && pending < in_flight.max(1) {
            let left = deadline.saturating_duration_since(Instant::now());
            match ffi::submit_offset_fetch(rk, &queue, &groups[next], next, left) {
                Ok(()) => pending += 1,
                Err(e) => results[next] = Some(Err(e)),
            }
            next += 1;
        }
        if pending == 0 {
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(ev) = queue.poll(left + Duration::from_millis(500)) else {
            break;
        };
        let i = ev.opaque();
        if i < results.len() {
            pending -= 1;
            results[i] = Some(ffi::read_committed(&ev));
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Err(AdminError::timed_out("ListConsumerGroupOffsets", timeout)))
        })
        .collect()
}

/// Log-end offsets (LATEST) of the partitions: one ListOffsets request per leader. Each
/// partition has its own result, so one without a leader or of a deleted topic leaves the rest.
pub fn end_offsets(
    consumer: &ObserverConsumer,
    parts: &[(String, i32)],
    timeout: Duration,
) -> Result<Vec<PartitionResult<i64>>, AdminError> {
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let list = OwnedPartitions::new(
        parts,
        rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
    )?;
    let rk = native(consumer);
    let queue = ResultQueue::new(rk);
    let options = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
        timeout,
    );
    ffi::submit_list_offsets(rk, &list, &options, &queue);
    let ev = one_result(
        &queue,
        rd::RD_KAFKA_EVENT_LISTOFFSETS_RESULT,
        "ListOffsets",
        timeout,
    )?;
    Ok(ffi::read_end_offsets(&ev, parts.len()))
}
