//! Everything the backend learns from the Flink REST API.
//!
//! - [`client`]: the one shared HTTP client per datasource (auth, TLS, timeouts, size bounds).
//! - [`model`]: serde shapes of the REST answers.
//! - [`snapshot`]: one refresh of the selected jobs, gathered with bounded concurrency.
//! - [`watermark_history`]: whether watermarks moved since the previous query.
//! - [`assess`]: bottleneck and health verdicts (pure, from `pipeline_model`'s rules).
//! - [`query`]: the Flink query types (a module each) and the query editor's listings.

pub mod assess;
pub mod client;
pub mod model;
pub mod query;
pub mod snapshot;
pub mod watermark_history;

pub use client::{FlinkClient, FlinkError};
pub use snapshot::{fetch, FlinkSnapshot, SnapshotError};
pub use watermark_history::WatermarkHistory;
