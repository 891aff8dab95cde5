//! Everything the backend learns from Kafka itself (no exporter).
//!
//! - [`client`]: the per-datasource librdkafka client built from the connection settings.

pub mod client;

pub use client::KafkaClient;
