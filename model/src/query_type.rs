//! Every query type the datasource serves, in one table: its wire name (the `queryType` a
//! panel sends), the label and description the query editor shows, and which upstream it
//! asks (the part of a timeout message that names what did not answer). The backend parses
//! and dispatches from [`QueryType`]; the front end's list is generated from [`QueryType::ALL`]
//! (`cargo xtask contract`), and a test fails when the two drift.

use serde::Serialize;

/// Which upstream a query type asks, as a timeout message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Upstream {
    KafkaAndFlink,
    Kafka,
    Flink,
}

impl Upstream {
    pub fn describe(self) -> &'static str {
        match self {
            Upstream::KafkaAndFlink => "Kafka and Flink",
            Upstream::Kafka => "Kafka",
            Upstream::Flink => "the Flink REST API",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueryTypeSpec {
    pub query_type: QueryType,
    /// The `queryType` on the wire.
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub upstream: Upstream,
}

// The enum and its table come from one list, so a variant cannot miss its row.
macro_rules! query_types {
    ($($variant:ident => $name:literal, $label:literal, $upstream:ident, $description:literal;)+) => {
        /// What a query asks for; the backend parses each one's own fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub enum QueryType {
            $($variant,)+
        }

        impl QueryType {
            /// Every query type, in the order the query editor lists them.
            pub const ALL: &'static [QueryTypeSpec] = &[
                $(QueryTypeSpec {
                    query_type: QueryType::$variant,
                    name: $name,
                    label: $label,
                    description: $description,
                    upstream: Upstream::$upstream,
                },)+
            ];
        }
    };
}

query_types! {
    Topology => "topology", "Topology", KafkaAndFlink, "Pipeline graph with the health of every node";
    Health => "health", "Health", KafkaAndFlink, "One value per component (status or a metric)";
    ConsumerLag => "consumerLag", "Consumer lag", Kafka, "Kafka consumer group lag in messages";
    TimeLag => "timeLag", "Time lag", Kafka, "Kafka consumer group lag in seconds";
    ClusterHealth => "clusterHealth", "Cluster health", Kafka, "Kafka brokers and partitions";
    Jobs => "jobs", "Jobs", Flink, "Flink jobs and their state";
    JobGraph => "jobGraph", "Job graph", Flink, "Vertices and edges of a Flink job";
    Backpressure => "backpressure", "Backpressure", Flink, "Backpressured and busy ratio per vertex";
    Watermarks => "watermarks", "Watermarks", Flink, "Watermark lag per vertex";
    Checkpoints => "checkpoints", "Checkpoints", Flink, "Checkpoint age, duration and failures";
    TaskManagers => "taskManagers", "TaskManagers", Flink, "Heap and CPU of each TaskManager";
}

impl QueryType {
    /// Grafana's default query (an empty `queryType`) is the topology.
    pub const DEFAULT: QueryType = QueryType::Topology;

    pub fn spec(self) -> &'static QueryTypeSpec {
        // The table lists the variants in declaration order (one macro writes both).
        &Self::ALL[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn upstream(self) -> Upstream {
        self.spec().upstream
    }

    /// The type a wire name means; an empty name is [`QueryType::DEFAULT`].
    pub fn from_name(name: &str) -> Option<QueryType> {
        if name.is_empty() {
            return Some(Self::DEFAULT);
        }
        Self::ALL
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.query_type)
    }

    /// The wire names, for an error that lists what is accepted.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|s| s.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_in_the_table_once_under_its_serde_name() {
        for spec in QueryType::ALL {
            let serde_name = serde_json::to_value(spec.query_type).unwrap();
            assert_eq!(serde_name, spec.name, "{spec:?}");
            assert_eq!(spec.query_type.spec(), spec);
            assert_eq!(QueryType::from_name(spec.name), Some(spec.query_type));
        }
        let mut names: Vec<_> = QueryType::names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), QueryType::ALL.len(), "a name is used twice");
    }

    #[test]
    fn an_empty_name_is_the_topology_and_an_unknown_one_is_none() {
        assert_eq!(QueryType::from_name(""), Some(QueryType::Topology));
        assert_eq!(QueryType::from_name("lagg"), None);
    }
}
