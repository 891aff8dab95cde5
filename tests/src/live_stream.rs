//! Grafana Live as Grafana calls it: SubscribeStream, then RunStream, whose packets are frames in
//! Grafana's JSON form (`{"schema": …, "data": {"values": …}}`), decoded here into the same
//! [`DecodedFrame`] the Arrow answers decode into.

use std::time::Duration;

use grafana_plugin_sdk::pluginv2::{
    stream_client::StreamClient, RunStreamRequest, StreamPacket, SubscribeStreamRequest,
};
use serde_json::Value;

use crate::arrow_frames::{DecodedField, DecodedFrame};
use crate::host::{DatasourceConfig, PluginHost};

/// SubscribeStream's status: 0 OK, 1 not found, 2 permission denied.
pub type SubscribeStatus = i32;

impl PluginHost {
    pub async fn subscribe_stream(&self, ds: &DatasourceConfig, path: &str) -> SubscribeStatus {
        StreamClient::new(self.channel.clone())
            .subscribe_stream(SubscribeStreamRequest {
                plugin_context: Some(ds.context()),
                path: path.into(),
                data: Default::default(),
            })
            .await
            .expect("SubscribeStream call")
            .into_inner()
            .status
    }

    /// RunStream on `path`: the stream, or the gRPC status the plugin refused it with.
    pub async fn run_stream(
        &self,
        ds: &DatasourceConfig,
        path: &str,
    ) -> Result<LiveStream, tonic::Status> {
        StreamClient::new(self.channel.clone())
            .run_stream(RunStreamRequest {
                plugin_context: Some(ds.context()),
                path: path.into(),
                data: Default::default(),
            })
            .await
            .map(|r| LiveStream(r.into_inner()))
    }
}

/// A running stream; dropping it is Grafana's last subscriber leaving.
pub struct LiveStream(tonic::Streaming<StreamPacket>);

/// One push: the frame decoded, and the JSON exactly as the plugin sent it (what Grafana's
/// `StreamingDataFrame.push` takes in the browser).
pub struct Pushed {
    pub frame: DecodedFrame,
    pub json: Value,
}

impl LiveStream {
    /// The next push, or why none came within `within`.
    pub async fn next_push(&mut self, within: Duration) -> Result<Pushed, String> {
        match tokio::time::timeout(within, self.0.message()).await {
            Err(_) => Err(format!("no push within {within:?}")),
            Ok(Err(status)) => Err(format!("the stream failed: {status}")),
            Ok(Ok(None)) => Err("the stream ended".into()),
            Ok(Ok(Some(packet))) => Ok(Pushed {
                frame: decode_json_frame(&packet.data),
                json: serde_json::from_slice(&packet.data).expect("a live packet is JSON"),
            }),
        }
    }

    /// The next pushed frame, or why none came within `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Result<DecodedFrame, String> {
        self.next_push(within).await.map(|p| p.frame)
    }
}

/// The Grafana live path of a frame's channel (`ds/<uid>/<path>` -> `<path>`), if it has one.
pub fn channel_path(frame: &DecodedFrame) -> Option<String> {
    let channel = frame.meta.get("channel")?.as_str()?;
    let mut parts = channel.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("ds"), Some(_uid), Some(path)) => Some(path.to_string()),
        _ => None,
    }
}

/// A frame in Grafana's JSON form, as the SDK writes it for live packets.
pub fn decode_json_frame(bytes: &[u8]) -> DecodedFrame {
    let json: Value = serde_json::from_slice(bytes).expect("a live packet is JSON");
    let schema = &json["schema"];
    let values = json["data"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let fields = schema["fields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, f)| DecodedField {
            name: f["name"].as_str().unwrap_or_default().to_string(),
            grafana_type: match f["type"].as_str() {
                Some("string") => "string",
                Some("boolean") => "boolean",
                Some("time") => "time",
                _ => "number",
            },
            config: f.get("config").cloned().unwrap_or(Value::Null),
            labels: f.get("labels").cloned().unwrap_or(Value::Null),
            values: values
                .get(i)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    DecodedFrame {
        name: schema["name"].as_str().unwrap_or_default().to_string(),
        ref_id: schema["refId"].as_str().unwrap_or_default().to_string(),
        meta: schema.get("meta").cloned().unwrap_or(Value::Null),
        fields,
    }
}
