//! Kafka's Admin API through librdkafka, for the calls the rdkafka crate does not wrap:
//! ListConsumerGroups, DescribeConsumerGroups, ListConsumerGroupOffsets and ListOffsets.
//!
//! Every call goes through the datasource's one client (its `rd_kafka_t`), so one set of broker
//! connections serves every group. A call is submitted with a result queue of its own and the
//! caller blocks on that queue (callers are on tokio's blocking pool). ListConsumerGroupOffsets
//! takes one group per request (a librdkafka rule), so [`group_offsets`] keeps many of them in
//! flight on one queue, told apart by their opaque, at most `in_flight` at a time.
//!
//! [`ffi`] is the only module with `unsafe` in the crate (`lib.rs` denies it elsewhere); [`groups`] and
//! [`offsets`] are the requests by kind, in safe code over its handles and readers.

mod ffi;
mod groups;
mod offsets;

use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;
use thiserror::Error;

pub use ffi::controller_id;
pub use groups::{describe_groups, list_groups};
pub use offsets::{end_offsets, group_offsets};

use ffi::{Event, ResultQueue};

/// A failure of one admin request, or of one group or partition within an answer.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{message}")]
pub struct AdminError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl AdminError {
    fn new(code: RDKafkaErrorCode, message: impl Into<String>) -> Self {
        AdminError {
            code,
            message: message.into(),
        }
    }

    fn timed_out(what: &str, waited: Duration) -> Self {
        AdminError::new(
            RDKafkaErrorCode::OperationTimedOut,
            format!("{what}: no answer within {:.1} s", waited.as_secs_f64()),
        )
    }

    pub fn is_timeout(&self) -> bool {
        matches!(
            self.code,
            RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut
        )
    }
}

/// A group as ListConsumerGroups lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedGroup {
    pub name: String,
    pub state: String,
    /// "Classic" or "Consumer" (KIP-848); "Unknown" from brokers that do not say.
    pub kind: String,
    /// Kafka's "simple consumer group": it commits offsets but has no protocol type.
    pub simple: bool,
}

/// Everything ListConsumerGroups returned: the groups, and the brokers that failed to answer
/// (their groups are missing, the rest are complete).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupListing {
    pub groups: Vec<ListedGroup>,
    pub errors: Vec<String>,
}

/// One member of a group and the partitions it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub client_id: String,
    pub consumer_id: String,
    pub host: String,
    pub assignment: Vec<(String, i32)>,
}

/// A group as DescribeConsumerGroups describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDescription {
    pub name: String,
    pub state: String,
    pub kind: String,
    pub simple: bool,
    pub assignor: String,
    pub coordinator: Option<i32>,
    pub members: Vec<Member>,
}

/// One committed offset of a group (partitions without a commit are absent).
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

pub type PartitionResult<T> = ((String, i32), Result<T, AdminError>);

/// Each described group by name: its description, or why it has none.
pub type Descriptions = Vec<(String, Result<GroupDescription, AdminError>)>;

/// Wait for the one result of a request submitted to `queue`.
fn one_result(
    queue: &ResultQueue,
    kind: i32,
    what: &str,
    timeout: Duration,
) -> Result<Event, AdminError> {
    // librdkafka answers a request that timed out itself; the margin only covers a lost event.
    let ev = queue
        .poll(timeout + Duration::from_millis(500))
        .ok_or_else(|| AdminError::timed_out(what, timeout))?;
    if let Some(e) = ev.error() {
        return Err(e);
    }
    if !ev.is(kind) {
        return Err(AdminError::new(
            RDKafkaErrorCode::Fail,
            format!("{what}: librdkafka answered with an unexpected event"),
        ));
    }
    Ok(ev)
}
