//! The names the frames are written and read by, defined once: frame names, the Node Graph
//! fields of the `nodes` and `edges` frames (Grafana's names, plus `kind`, `health`, `reason`
//! and `bottleneck` of our own), the fields of the `health` series, the metrics the `health`
//! query accepts, and how node and edge ids are built. The backend writes these, the panel (Rust
//! and its shim) reads them; the shim's copy is generated (`cargo xtask contract`), and a test
//! fails when the two drift.

use crate::Health;

// Each group is a module of `&str` constants plus `ALL` (constant name, value) listing them, so
// the generated TypeScript carries every name without a second list.
macro_rules! names {
    ($($(#[doc = $doc:literal])+ $module:ident { $($(#[doc = $fdoc:literal])* $name:ident = $value:literal;)+ })+) => {
        $(
            $(#[doc = $doc])+
            pub mod $module {
                $($(#[doc = $fdoc])* pub const $name: &str = $value;)+

                /// Every name of this group as (constant, value), in declaration order.
                pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $value),)+];
            }
        )+
    };
}

names! {
    /// Names of the frames.
    frames {
        NODES = "nodes";
        EDGES = "edges";
        /// The alerting series of the `health` query.
        HEALTH = "health";
    }

    /// Fields of the `nodes` frame. `id` is the only one a frame must have.
    node_fields {
        ID = "id";
        TITLE = "title";
        SUBTITLE = "subtitle";
        MAINSTAT = "mainstat";
        SECONDARYSTAT = "secondarystat";
        /// Grafana palette name of the node's health ([`crate::Health::color`]).
        COLOR = "color";
        /// A [`crate::NodeKind`] name.
        KIND = "kind";
        /// A [`crate::Health`] name.
        HEALTH = "health";
        REASON = "reason";
        /// True on the node(s) named as the root cause ([`crate::root_cause`]).
        BOTTLENECK = "bottleneck";
        /// True on the unhealthy nodes the root cause affects.
        VICTIM = "victim";
        /// The [`crate::ReasonCode`]s of the node's verdict, comma-separated.
        REASON_CODE = "reasonCode";
        /// Prefix of the arc fractions: `arc__ok`, `arc__warning`, ... (see [`super::ARC_FIELDS`]).
        ARC_PREFIX = "arc__";
        /// Prefix of the tooltip details: `detail__reason`, `detail__<stat>` (see [`super::detail_field`]).
        DETAIL_PREFIX = "detail__";
    }

    /// Fields of the `edges` frame.
    edge_fields {
        ID = "id";
        SOURCE = "source";
        TARGET = "target";
        MAINSTAT = "mainstat";
        SECONDARYSTAT = "secondarystat";
    }

    /// Keys of the `nodes` frame's custom metadata.
    node_meta {
        /// The pipeline's verdict (a [`crate::Health`] name).
        VERDICT = "verdict";
        /// Id of the main root-cause node, or null.
        BOTTLENECK = "bottleneck";
        /// The root cause in a sentence, or null when all is well.
        ROOT_CAUSE = "rootCause";
        /// The root cause's [`crate::ReasonCode`], or null.
        ROOT_CAUSE_CODE = "rootCauseCode";
        /// Ids of all the root cause's nodes (a blocked sink and its database).
        CAUSE_NODES = "causeNodes";
        /// Ids of the nodes the root cause affects.
        VICTIMS = "victims";
    }

    /// Label fields of the `health` series; the value field is [`metric_field`]. Each is
    /// stable across rebalances and redeployments (see [`series_key`]), so an alert rule's
    /// series keeps its identity when the job is resubmitted.
    health_fields {
        /// [`series_key`]: kind, job name and node name.
        NODE = "node";
        /// The node's readable name (topic, group, vertex or database).
        NAME = "name";
        KIND = "kind";
        /// The Flink job's name for vertices, empty otherwise.
        JOB = "job";
    }

    /// Prefixes of node ids (see [`topic_id`] and its siblings).
    node_ids {
        TOPIC = "kafka/topic/";
        GROUP = "kafka/group/";
        VERTEX = "flink/";
        DATABASE = "db/";
        /// The one node drawn when the Flink REST API does not answer.
        FLINK_UNREACHABLE = "flink";
        /// The one node drawn when Kafka does not answer.
        KAFKA_UNREACHABLE = "kafka";
        /// The node drawn when Kafka's topics are known but its consumer groups could not be read.
        KAFKA_GROUPS_UNKNOWN = "kafka/groups";
    }
}

/// The arc fraction field of each health state, in slot order, as in Grafana's Node Graph.
pub const ARC_FIELDS: [(&str, Health); 4] = [
    ("arc__ok", Health::Ok),
    ("arc__warning", Health::Warning),
    ("arc__critical", Health::Critical),
    ("arc__unknown", Health::Unknown),
];

/// The arc fraction field of a health state: `arc__critical`.
pub fn arc_field(h: Health) -> &'static str {
    ARC_FIELDS[h.slot()].0
}

/// The tooltip detail field of a stat: `detail__time_lag` for "time lag".
pub fn detail_field(stat: &str) -> String {
    format!("{}{}", node_fields::DETAIL_PREFIX, stat.replace(' ', "_"))
}

/// The value field of the `health` series for a metric: `time_lag` for "time lag".
pub fn metric_field(metric: &str) -> String {
    metric.replace(' ', "_")
}

/// Which number the `health` query returns per node (its `metric`).
pub const HEALTH_METRICS: &[&str] = &[
    "status",
    "lag",
    "time lag",
    "backpressure",
    "busy",
    "watermark lag",
    "checkpoint age",
    // The status code of the node(s) named as the root cause (1, 2 or 3), 0 on every other node.
    "root cause",
];

pub fn topic_id(name: &str) -> String {
    format!("{}{name}", node_ids::TOPIC)
}

pub fn group_id(name: &str) -> String {
    format!("{}{name}", node_ids::GROUP)
}

pub fn vertex_id(job: &str, vertex: &str) -> String {
    format!("{}{job}/{vertex}", node_ids::VERTEX)
}

pub fn database_id(name: &str) -> String {
    format!("{}{name}", node_ids::DATABASE)
}

/// A node's identity in the `health` series: `kind/name`, or `kind/job/name` for a job's vertex.
/// Built from names only (never a Flink job id, a group state or a subtitle), so it survives a
/// resubmitted job and a rebalance.
pub fn series_key(kind: crate::NodeKind, job: &str, name: &str) -> String {
    if job.is_empty() {
        format!("{}/{name}", kind.as_str())
    } else {
        format!("{}/{job}/{name}", kind.as_str())
    }
}

/// An edge's id when the frame gives none: `source->target`.
pub fn edge_id(source: &str, target: &str) -> String {
    format!("{source}->{target}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_fields_are_the_prefix_and_the_health_name_in_slot_order() {
        for (i, (name, h)) in ARC_FIELDS.iter().enumerate() {
            assert_eq!(h.slot(), i);
            assert_eq!(*name, format!("{}{}", node_fields::ARC_PREFIX, h.as_str()));
            assert_eq!(arc_field(*h), *name);
        }
    }

    #[test]
    fn ids_and_derived_field_names_keep_their_shape() {
        assert_eq!(topic_id("clicks"), "kafka/topic/clicks");
        assert_eq!(group_id("g"), "kafka/group/g");
        assert_eq!(vertex_id("j1", "v1"), "flink/j1/v1");
        assert_eq!(database_id("postgres: orders"), "db/postgres: orders");
        assert_eq!(edge_id("a", "b"), "a->b");
        assert_eq!(
            series_key(crate::NodeKind::FlinkSink, "roas", "Sink: pg"),
            "flink-sink/roas/Sink: pg"
        );
        assert_eq!(
            series_key(crate::NodeKind::KafkaTopic, "", "clicks"),
            "kafka-topic/clicks"
        );
        assert_eq!(detail_field("time lag"), "detail__time_lag");
        assert_eq!(metric_field("checkpoint age"), "checkpoint_age");
        assert_eq!(node_fields::ALL[0], ("ID", "id"));
        assert_eq!(frames::ALL.len(), 3);
    }
}
