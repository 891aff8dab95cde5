//! The numbers a topology node carries, defined once: each stat's name and Grafana unit, and
//! which of them are a node's two headline numbers (`mainstat`, `secondarystat`).
//!
//! A frame field has one unit for all its rows, so each headline column means one thing on every
//! kind of node: `mainstat` is what flows through the node (records per second), `secondarystat`
//! how far behind real time it is (seconds). Grafana's Node Graph and our panel then format both
//! with Grafana's own unit formatting, and a threshold on either compares like with like.

use crate::NodeKind;

/// Grafana unit ids.
pub mod units {
    /// Grafana's custom count unit: "4.1K rec/s". "reqps" would say requests.
    pub const RECORDS_PER_SECOND: &str = "count:rec/s";
    /// "48K records".
    pub const RECORDS: &str = "count:records";
    pub const SECONDS: &str = "s";
    /// A 0..1 ratio shown as a percentage.
    pub const RATIO: &str = "percentunit";
    /// A plain count: partitions, members, parallelism.
    pub const COUNT: &str = "short";
}

/// A stat: its name (the tooltip's label and the `detail__` field's suffix) and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatName {
    pub name: &'static str,
    pub unit: &'static str,
}

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $id:ident = $name:literal, $unit:ident;)+) => {
        $($(#[doc = $doc])* pub const $id: StatName = StatName { name: $name, unit: units::$unit };)+
        /// Every stat a topology node may carry.
        pub const ALL: &[StatName] = &[$($id,)+];
    };
}

stats! {
    /// Records written to a topic per second, over the sampled window.
    PRODUCE_RATE = "produce rate", RECORDS_PER_SECOND;
    PARTITIONS = "partitions", COUNT;
    UNDER_REPLICATED = "under-replicated", COUNT;
    OFFLINE = "offline", COUNT;
    /// Records behind the log end, summed over the group's committed partitions.
    LAG = "lag", RECORDS;
    TIME_LAG = "time lag", SECONDS;
    /// Records per second a group commits past, over the sampled window.
    CONSUME_RATE = "consume rate", RECORDS_PER_SECOND;
    /// Seconds the group needs to catch up at its current rate.
    DRAIN_TIME = "drain time", SECONDS;
    MEMBERS = "members", COUNT;
    PARALLELISM = "parallelism", COUNT;
    BACKPRESSURE = "backpressure", RATIO;
    BUSY = "busy", RATIO;
    WATERMARK_LAG = "watermark lag", SECONDS;
    WATERMARK_STALLED = "watermark stalled", SECONDS;
    RECORDS_IN = "records in", RECORDS_PER_SECOND;
    RECORDS_OUT = "records out", RECORDS_PER_SECOND;
    CHECKPOINT_AGE = "checkpoint age", SECONDS;
}

/// One headline column of the `nodes` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headline {
    /// The field's `displayName`.
    pub display_name: &'static str,
    pub unit: &'static str,
}

/// `mainstat`: what flows through the node.
pub const MAIN: Headline = Headline {
    display_name: "Throughput",
    unit: units::RECORDS_PER_SECOND,
};

/// `secondarystat`: how far behind real time the node is.
pub const SECONDARY: Headline = Headline {
    display_name: "Behind",
    unit: units::SECONDS,
};

/// The stats a node of `kind` shows as (mainstat, secondarystat); `None` leaves it empty.
pub fn headline(kind: NodeKind) -> (Option<StatName>, Option<StatName>) {
    match kind {
        NodeKind::KafkaTopic => (Some(PRODUCE_RATE), None),
        NodeKind::ConsumerGroup => (Some(CONSUME_RATE), Some(TIME_LAG)),
        // A source reads from outside the job: Flink counts its records out, not in.
        NodeKind::FlinkSource => (Some(RECORDS_OUT), Some(WATERMARK_LAG)),
        NodeKind::FlinkOperator | NodeKind::FlinkSink => (Some(RECORDS_IN), Some(WATERMARK_LAG)),
        NodeKind::Database => (Some(RECORDS_IN), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_headline_stat_has_the_unit_of_its_column() {
        for kind in NodeKind::ALL {
            let (main, secondary) = headline(kind);
            if let Some(s) = main {
                assert_eq!(s.unit, MAIN.unit, "{kind:?} mainstat {}", s.name);
            }
            if let Some(s) = secondary {
                assert_eq!(s.unit, SECONDARY.unit, "{kind:?} secondarystat {}", s.name);
            }
        }
    }

    #[test]
    fn stat_names_are_unique() {
        let mut names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
