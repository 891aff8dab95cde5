//! Test support for Pipeline Health: a stand-in for Grafana's plugin host.
//!
//! [`host::PluginHost`] spawns the built backend binary the way Grafana does, reads the
//! go-plugin handshake line and calls the plugin over gRPC with the `pluginv2` protos that
//! `grafana-plugin-sdk` ships. [`arrow_frames`] decodes the Arrow frames it answers with.

pub mod arrow_frames;
pub mod bed;
pub mod cause_watch;
pub mod flink_cluster;
pub mod flink_stub;
pub mod host;
pub mod kafka_mock;
pub mod live_stream;
pub mod panel_fixtures;
pub mod soak;

pub use arrow_frames::{DecodedField, DecodedFrame};
pub use host::{Answer, DatasourceConfig, PluginHost, Query};
