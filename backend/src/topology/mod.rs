//! The pipeline topology: Kafka and Flink joined into one graph with a verdict per node and the
//! bottleneck named.
//!
//! - [`description`]: the declarative pipeline description (settings or query).
//! - [`facts`]: what one refresh learned from Kafka and Flink, independent of how.
//! - [`coalesce`]: one refresh's facts shared by the queries that ask within a short window.
//! - [`assemble`]: the join, pure; rules come from `pipeline_model`.
//! - [`node_graph`]: the Node Graph frames (`nodes`, `edges`).
//! - [`health_series`]: the alerting series of the `health` query.

pub mod assemble;
pub mod coalesce;
pub mod description;
pub mod facts;
pub mod gather;
pub mod health_series;
pub mod node_graph;
