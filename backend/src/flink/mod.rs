//! Everything the backend learns from the Flink REST API.
//!
//! - [`client`]: the one shared HTTP client per datasource (auth, TLS, timeouts, size bounds).

pub mod client;

pub use client::FlinkClient;
