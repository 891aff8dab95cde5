//! Everything the backend learns from Kafka itself (no exporter).
//!
//! - [`admin`]: the Admin API calls rdkafka does not wrap (groups, offsets), on the one client;
//!   its `ffi` module holds every `unsafe` call.
//! - [`client`]: the one librdkafka client of a datasource, built from its connection settings;
//!   a call fails at once when every broker is down.
//! - [`config`]: its librdkafka configuration, and a refused setting named as the datasource's.
//! - [`observer`]: what librdkafka reports about its connections (last error, brokers down).
//! - [`lag`]: consumer-lag arithmetic (pure).
//! - [`offsets`]: batched fetching of end and committed offsets into one lag snapshot.
//! - [`answers`]: those answers joined into groups and lag rows (pure).
//! - [`status`]: Burrow-grade status of groups and partitions over the sampled history.
//! - [`sampler`]: the background snapshots that keep that history without an open dashboard.
//! - [`record_time`]: the timestamp of the record at a committed offset (time lag at once).
//! - [`time_lag`]: the sampled-offsets window, seconds behind and drain time (pure).
//! - [`cluster`]: brokers, controller, partitions and the cluster verdict.
//! - [`query`]: the `consumerLag`, `timeLag` and `clusterHealth` queries (a module each) and
//!   the query editor's listings.

pub mod admin;
pub mod answers;
pub mod client;
pub mod cluster;
pub mod config;
pub mod lag;
pub mod observer;
pub mod offsets;
pub mod query;
pub mod record_time;
pub mod sampler;
pub mod status;
pub mod time_lag;

pub use client::KafkaClient;
