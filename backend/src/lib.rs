//! Pipeline Health datasource backend: asks Kafka and the Flink REST API directly and answers
//! Grafana's QueryData, CheckHealth, CollectMetrics and CallResource calls.
//!
//! Map of the crate (see ARCHITECTURE.md for the whole repository):
//! - [`plugin`]: the gRPC services; resolves the datasource instance, dispatches queries.
//! - [`query`]: typed query parsing and the query types that combine several sources.
//! - [`kafka`], [`flink`]: the upstream clients and what is derived from their answers.
//! - [`settings`], [`instance`]: datasource settings and the per-datasource clients.
//! - [`frames`], [`error`], [`metrics`]: frame builders, user-facing errors, own metrics.
//! - [`check`]: `gpx_kafkaflink check`, the same health from a terminal.
//! - [`malloc_arenas`]: glibc's allocator told to keep fewer arenas (measured RSS).

// `unsafe` lives in `kafka::admin::ffi` (librdkafka's Admin API) and in `malloc_arenas` (one
// mallopt call), which allow it.
#![deny(unsafe_code)]

pub mod check;
pub mod error;
pub mod flink;
pub mod frames;
pub mod instance;
pub mod kafka;
pub mod live;
pub mod malloc_arenas;
pub mod metrics;
pub mod plugin;
pub mod query;
pub mod settings;
pub mod topology;

/// Threads of tokio's blocking pool at most. Kafka's blocking work runs at most
/// [`kafka::client::MAX_IN_FLIGHT`] at once, but a finished piece's thread may not be idle yet
/// when the next piece starts, so twice that; and room beside it for the rest of the pool's
/// users (the resolver of a Flink URL's host name), which a hung Kafka must not starve.
pub const BLOCKING_THREADS: usize = 2 * kafka::client::MAX_IN_FLIGHT + 16;
