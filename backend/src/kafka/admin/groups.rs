//! The group requests: ListConsumerGroups (every group the cluster knows) and
//! DescribeConsumerGroups (state, members and assignment of named groups).

use std::ffi::CString;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaErrorCode;

use super::ffi::{self, native, Options, ResultQueue};
use super::{one_result, AdminError, Descriptions, GroupListing};
use crate::kafka::client::ObserverConsumer;

/// Every group the cluster knows (one ListGroups request per broker).
pub fn list_groups(
    consumer: &ObserverConsumer,
    timeout: Duration,
) -> Result<GroupListing, AdminError> {
    let rk = native(consumer);
    let queue = ResultQueue::new(rk);
    let options = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
        timeout,
    );
    ffi::submit_list_groups(rk, &options, &queue);
    let ev = one_result(
        &queue,
        rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
        "ListConsumerGroups",
        timeout,
    )?;
    Ok(ffi::read_group_listing(&ev))
}

/// State, members and assignment of each named group (one request per coordinator). Each
/// group has its own result: one that fails (ACL, coordinator loading) leaves the rest whole.
pub fn describe_groups(
    consumer: &ObserverConsumer,
    names: &[String],
    timeout: Duration,
) -> Result<Descriptions, AdminError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let c_names = names
        .iter()
        .map(|n| CString::new(n.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AdminError::new(RDKafkaErrorCode::InvalidArgument, "group name holds NUL"))?;
    let rk = native(consumer);
    let queue = ResultQueue::new(rk);
    let options = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        timeout,
    );
    ffi::submit_describe_groups(rk, &c_names, &options, &queue);
    let ev = one_result(
        &queue,
        rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
        "DescribeConsumerGroups",
        timeout,
    )?;
    Ok(ffi::read_descriptions(&ev, names.len()))
}
