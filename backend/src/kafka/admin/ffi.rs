//! Every `unsafe` call into librdkafka for the Admin API, in one module; each block says what
//! keeps it sound. Strings and lists librdkafka returns belong to the result event, so they
//! are copied into owned Rust values before the event is destroyed. The rest of
//! [`super`] is safe code over these handles and readers.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaErrorCode;

use super::{
    AdminError, CommittedOffset, Descriptions, GroupDescription, GroupListing, ListedGroup, Member,
    PartitionResult,
};
use crate::kafka::client::ObserverConsumer;

/// Admin options of `op` with Kafka's request timeout set; destroyed on drop.
pub(super) struct Options(*mut rd::rd_kafka_AdminOptions_t);

impl Options {
    pub(super) fn new(
        rk: *mut rd::rd_kafka_t,
        op: rd::rd_kafka_admin_op_t,
        timeout: Duration,
    ) -> Self {
        // SAFETY: `rk` is a live client handle (borrowed from the consumer for the call);
        // AdminOptions_new only reads it to check the client type.
        let options = unsafe { rd::rd_kafka_AdminOptions_new(rk, op) };
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as c_int;
        let mut errstr = [0 as c_char; 256];
        // SAFETY: `options` was just created; errstr is a writable buffer of the size given.
        // A timeout out of range is the only failure, and `ms` is clamped into range.
        unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                options,
                ms,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
        }
        Options(options)
    }

    /// Tag the request's result event with `index`, read back by [`Event::opaque`].
    pub(super) fn set_opaque(&self, index: usize) {
        // SAFETY: the options are live; the opaque is an integer carried as a pointer and never
        // dereferenced.
        unsafe { rd::rd_kafka_AdminOptions_set_opaque(self.0, index as *mut c_void) }
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by AdminOptions_new and destroyed once; librdkafka copies the options
        // into each request, so destroying them after submission is allowed.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

/// A queue that receives admin results; destroyed on drop (requests still in flight keep
/// their own reference, so an abandoned queue is freed when they finish).
pub(super) struct ResultQueue(*mut rd::rd_kafka_queue_t);

impl ResultQueue {
    pub(super) fn new(rk: *mut rd::rd_kafka_t) -> Self {
        // SAFETY: `rk` is a live client handle.
        ResultQueue(unsafe { rd::rd_kafka_queue_new(rk) })
    }

    /// The next result, or `None` when nothing arrived within `wait`.
    pub(super) fn poll(&self, wait: Duration) -> Option<Event> {
        let ms = wait.as_millis().min(i32::MAX as u128) as c_int;
        // SAFETY: the queue is live; a returned event is owned by us and freed by `Event`.
        let ev = unsafe { rd::rd_kafka_queue_poll(self.0, ms) };
        (!ev.is_null()).then_some(Event(ev))
    }
}

impl Drop for ResultQueue {
    fn drop(&mut self) {
        // SAFETY: created by queue_new and destroyed once.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

/// One result event; destroyed on drop, together with everything it points to.
pub(super) struct Event(*mut rd::rd_kafka_event_t);

impl Event {
    pub(super) fn opaque(&self) -> usize {
        // SAFETY: the event is live; the opaque is the integer set by `Options::set_opaque`.
        unsafe { rd::rd_kafka_event_opaque(self.0) as usize }
    }

    /// The request-level error (timeout, no broker, ...), if any.
    pub(super) fn error(&self) -> Option<AdminError> {
        // SAFETY: the event is live; the error string belongs to it and is copied.
        let (code, text) = unsafe {
            let code = rd::rd_kafka_event_error(self.0);
            (code, text_of(rd::rd_kafka_event_error_string(self.0)))
        };
        (code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| AdminError::new(code.into(), text))
    }

    pub(super) fn is(&self, kind: i32) -> bool {
        // SAFETY: the event is live.
        unsafe { rd::rd_kafka_event_type(self.0) == kind }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event (returned by queue_poll) and destroy it once.
        unsafe { rd::rd_kafka_event_destroy(self.0) }
    }
}

/// A C string librdkafka returned, copied; "" for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string alive for the duration of the call.
unsafe fn text_of(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// An `rd_kafka_error_t` as an [`AdminError`]; `None` for NULL (no error).
///
/// # Safety
/// `e` is NULL or points to an error owned by a live event.
unsafe fn error_of(e: *const rd::rd_kafka_error_t) -> Option<AdminError> {
    (!e.is_null()).then(|| {
        AdminError::new(
            rd::rd_kafka_error_code(e).into(),
            text_of(rd::rd_kafka_error_string(e)),
        )
    })
}

/// A partition error code as an [`AdminError`]; `None` for no error.
fn partition_error(code: rd::rd_kafka_resp_err_t) -> Option<AdminError> {
    (code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| {
        // SAFETY: err2str returns a static string for every code.
        AdminError::new(code.into(), unsafe { text_of(rd::rd_kafka_err2str(code)) })
    })
}

/// The elements of a topic-partition list, read in place.
///
/// # Safety
/// `list` is NULL or a list owned by a live event (or by us) that outlives the slice.
unsafe fn partitions<'a>(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> &'a [rd::rd_kafka_topic_partition_t] {
    if list.is_null() || (*list).cnt <= 0 || (*list).elems.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts((*list).elems, (*list).cnt as usize)
    }
}

/// A C array of `cnt` pointers, as a slice; empty for NULL.
///
/// # Safety
/// `p` is NULL or points to `cnt` pointers owned by a live event.
unsafe fn array<'a, T>(p: *mut *const T, cnt: usize) -> &'a [*const T] {
    if p.is_null() || cnt == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, cnt)
    }
}

/// A topic-partition list we own; destroyed on drop.
pub(super) struct OwnedPartitions(*mut rd::rd_kafka_topic_partition_list_t);

impl OwnedPartitions {
    pub(super) fn new(parts: &[(String, i32)], offset: i64) -> Result<Self, AdminError> {
        // SAFETY: list_new allocates an empty list; add copies the topic name and returns a
        // pointer to the new element inside the list, valid until the next add.
        unsafe {
            let list = OwnedPartitions(rd::rd_kafka_topic_partition_list_new(
                parts.len().min(i32::MAX as usize) as c_int,
            ));
            for (topic, partition) in parts {
                let name = CString::new(topic.as_str()).map_err(|_| {
                    AdminError::new(RDKafkaErrorCode::InvalidArgument, "topic name holds NUL")
                })?;
                let elem = rd::rd_kafka_topic_partition_list_add(list.0, name.as_ptr(), *partition);
                (*elem).offset = offset;
            }
            Ok(list)
        }
    }
}

impl Drop for OwnedPartitions {
    fn drop(&mut self) {
        // SAFETY: created by list_new and destroyed once; librdkafka copies it per request.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0) }
    }
}

pub(super) fn native(consumer: &ObserverConsumer) -> *mut rd::rd_kafka_t {
    use rdkafka::consumer::Consumer;
    consumer.client().native_ptr()
}

/// Submit ListConsumerGroups; its result arrives on `queue`.
pub(super) fn submit_list_groups(rk: *mut rd::rd_kafka_t, options: &Options, queue: &ResultQueue) {
    // SAFETY: client, options and queue are live for the call; librdkafka copies the options.
    unsafe { rd::rd_kafka_ListConsumerGroups(rk, options.0, queue.0) };
}

/// The groups and per-broker errors of a ListConsumerGroups result event.
pub(super) fn read_group_listing(ev: &Event) -> GroupListing {
    let mut listing = GroupListing::default();
    // `one_result` checked the kind; checked again so that this safe function stays sound
    // whatever event it is given.
    if !ev.is(rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT) {
        return listing;
    }
    // SAFETY: the event is a ListConsumerGroups result (checked above); the listings and errors
    // it points to live as long as `ev`, and everything is copied out before it drops.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroups_result(ev.0);
        let (mut n, mut m) = (0usize, 0usize);
        let valid = rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut n);
        for &g in array(valid, n) {
            listing.groups.push(ListedGroup {
                name: text_of(rd::rd_kafka_ConsumerGroupListing_group_id(g)),
                state: text_of(rd::rd_kafka_consumer_group_state_name(
                    rd::rd_kafka_ConsumerGroupListing_state(g),
                )),
                kind: text_of(rd::rd_kafka_consumer_group_type_name(
                    rd::rd_kafka_ConsumerGroupListing_type(g),
                )),
                simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g) != 0,
            });
        }
        let errors = rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut m);
        for &e in array(errors, m) {
            if let Some(e) = error_of(e) {
                listing.errors.push(e.message);
            }
        }
    }
    listing
}

/// Submit DescribeConsumerGroups for `names`; its result arrives on `queue`.
pub(super) fn submit_describe_groups(
    rk: *mut rd::rd_kafka_t,
    names: &[CString],
    options: &Options,
    queue: &ResultQueue,
) {
    let mut ptrs: Vec<*const c_char> = names.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: `ptrs` points to NUL-terminated names alive for the call (librdkafka copies them).
    unsafe {
        rd::rd_kafka_DescribeConsumerGroups(rk, ptrs.as_mut_ptr(), ptrs.len(), options.0, queue.0)
    };
}

/// Each group of a DescribeConsumerGroups result event: its description, or its own error.
pub(super) fn read_descriptions(ev: &Event, capacity: usize) -> Descriptions {
    let mut out = Vec::with_capacity(capacity);
    // `one_result` checked the kind; checked again so that this safe function stays sound
    // whatever event it is given.
    if !ev.is(rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT) {
        return out;
    }
    // SAFETY: a DescribeConsumerGroups result (checked above); descriptions, members and their
    // partition lists belong to `ev` and are copied out before it drops.
    unsafe {
        let result = rd::rd_kafka_event_DescribeConsumerGroups_result(ev.0);
        let mut n = 0usize;
        let groups = rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut n);
        for &g in array(groups, n) {
            let name = text_of(rd::rd_kafka_ConsumerGroupDescription_group_id(g));
            if let Some(e) = error_of(rd::rd_kafka_ConsumerGroupDescription_error(g)) {
                out.push((name, Err(e)));
                continue;
            }
            let coordinator = rd::rd_kafka_ConsumerGroupDescription_coordinator(g);
            let members = (0..rd::rd_kafka_ConsumerGroupDescription_member_count(g))
                .map(|i| {
                    let m = rd::rd_kafka_ConsumerGroupDescription_member(g, i);
                    let assignment = rd::rd_kafka_MemberDescription_assignment(m);
                    let parts = if assignment.is_null() {
                        &[][..]
                    } else {
                        partitions(rd::rd_kafka_MemberAssignment_partitions(assignment))
                    };
                    Member {
                        client_id: text_of(rd::rd_kafka_MemberDescription_client_id(m)),
                        consumer_id: text_of(rd::rd_kafka_MemberDescription_consumer_id(m)),
                        host: text_of(rd::rd_kafka_MemberDescription_host(m)),
                        assignment: parts
                            .iter()
                            .map(|p| (text_of(p.topic), p.partition))
                            .collect(),
                    }
                })
                .collect();
            let description = GroupDescription {
                state: text_of(rd::rd_kafka_consumer_group_state_name(
                    rd::rd_kafka_ConsumerGroupDescription_state(g),
                )),
                kind: text_of(rd::rd_kafka_consumer_group_type_name(
                    rd::rd_kafka_ConsumerGroupDescription_type(g),
                )),
                simple: rd::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) != 0,
                assignor: text_of(rd::rd_kafka_ConsumerGroupDescription_partition_assignor(g)),
                coordinator: (!coordinator.is_null()).then(|| rd::rd_kafka_Node_id(coordinator)),
                members,
                name: name.clone(),
            };
            out.push((name, Ok(description)));
        }
    }
    out
}

/// Submit ListConsumerGroupOffsets for every committed partition of `group`, its result tagged
/// with `index`.
pub(super) fn submit_offset_fetch(
    rk: *mut rd::rd_kafka_t,
    queue: &ResultQueue,
    group: &str,
    index: usize,
    timeout: Duration,
) -> Result<(), AdminError> {
    let name = CString::new(group)
        .map_err(|_| AdminError::new(RDKafkaErrorCode::InvalidArgument, "group name holds NUL"))?;
    let options = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
        timeout,
    );
    options.set_opaque(index);
    // SAFETY: `_new` copies the name; a NULL partition list asks for every committed partition.
    // The request object is destroyed right after submission, which librdkafka allows (it keeps
    // a copy), and the array of one pointer lives on the stack for the call.
    unsafe {
        let mut request = rd::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), ptr::null());
        rd::rd_kafka_ListConsumerGroupOffsets(rk, &mut request, 1, options.0, queue.0);
        rd::rd_kafka_ListConsumerGroupOffsets_destroy(request);
    }
    Ok(())
}

/// The committed offsets of a ListConsumerGroupOffsets result event's one group.
pub(super) fn read_committed(ev: &Event) -> Result<Vec<CommittedOffset>, AdminError> {
    if let Some(e) = ev.error() {
        return Err(e);
    }
    if !ev.is(rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT) {
        return Err(AdminError::new(
            RDKafkaErrorCode::Fail,
            "unexpected event for ListConsumerGroupOffsets",
        ));
    }
    // SAFETY: a ListConsumerGroupOffsets result (checked above); its one group result and that
    // group's partition list belong to `ev` and are copied out.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(ev.0);
        let mut n = 0usize;
        let groups = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut n);
        let Some(&g) = array(groups, n).first() else {
            return Err(AdminError::new(
                RDKafkaErrorCode::Fail,
                "ListConsumerGroupOffsets returned no group",
            ));
        };
        if let Some(e) = error_of(rd::rd_kafka_group_result_error(g)) {
            return Err(e);
        }
        Ok(partitions(rd::rd_kafka_group_result_partitions(g))
            .iter()
            .filter(|p| p.offset >= 0 && partition_error(p.err).is_none())
            .map(|p| CommittedOffset {
                topic: text_of(p.topic),
                partition: p.partition,
                offset: p.offset,
            })
            .collect())
    }
}

/// Submit ListOffsets for `list`; its result arrives on `queue`.
pub(super) fn submit_list_offsets(
    rk: *mut rd::rd_kafka_t,
    list: &OwnedPartitions,
    options: &Options,
    queue: &ResultQueue,
) {
    // SAFETY: list, options and queue are live for the call; librdkafka copies the list.
    unsafe { rd::rd_kafka_ListOffsets(rk, list.0, options.0, queue.0) };
}

/// Each partition's log-end offset of a ListOffsets result event, or its own error.
pub(super) fn read_end_offsets(ev: &Event, capacity: usize) -> Vec<PartitionResult<i64>> {
    let mut out = Vec::with_capacity(capacity);
    // `one_result` checked the kind; checked again so that this safe function stays sound
    // whatever event it is given.
    if !ev.is(rd::RD_KAFKA_EVENT_LISTOFFSETS_RESULT) {
        return out;
    }
    // SAFETY: a ListOffsets result (checked above); each info's partition belongs to `ev`.
    unsafe {
        let result = rd::rd_kafka_event_ListOffsets_result(ev.0);
        let mut n = 0usize;
        let infos = rd::rd_kafka_ListOffsets_result_infos(result, &mut n);
        for &info in array(infos, n) {
            let p = &*rd::rd_kafka_ListOffsetsResultInfo_topic_partition(info);
            let key = (text_of(p.topic), p.partition);
            out.push(match partition_error(p.err) {
                Some(e) => (key, Err(e)),
                None => (key, Ok(p.offset)),
            });
        }
    }
    out
}

/// The active controller's broker id from librdkafka's metadata cache (the rdkafka crate does
/// not expose it); `None` when the cluster names none within `timeout`.
pub fn controller_id(consumer: &ObserverConsumer, timeout: Duration) -> Option<i32> {
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as c_int;
    // SAFETY: the client handle is live for the call; controllerid only reads its metadata.
    let id = unsafe { rd::rd_kafka_controllerid(native(consumer), ms) };
    (id >= 0).then_some(id)
}
