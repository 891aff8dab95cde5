//! The pipeline topology: Kafka and Flink joined into one graph with a verdict per node and the
//! bottleneck named.
//!
//! - [`description`]: the declarative pipeline description (settings or query).
//! - [`facts`]: what one refresh learned from Kafka and Flink, independent of how.
//! - [`assemble`]: the join, pure; rules come from `pipeline_model`.
//! - [`frames`]: Node Graph frames and the alerting series.

pub mod assemble;
pub mod description;
pub mod facts;
pub mod frames;
pub mod gather;
