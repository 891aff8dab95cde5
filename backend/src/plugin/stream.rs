//! Grafana Live: the stream behind each channel a live query's frames name ([`crate::live`]).
//! Grafana runs one stream per channel while a panel is subscribed to it and drops it when the
//! last one leaves; each push re-runs the query the same way QueryData does (under its
//! timeout, through the datasource's coalescing), so ten panels on one channel cost one query.

use std::sync::Arc;

use grafana_plugin_sdk::backend::{self, StreamPacket};
use grafana_plugin_sdk::data::{Frame, Metadata, Notice, Severity};
use thiserror::Error;
use tokio::time::{Instant, MissedTickBehavior};

use super::PipelinePlugin;
use crate::error::QueryError;
use crate::instance::Instance;
use crate::live::LiveError;
use crate::metrics::LiveStreamGuard;
use crate::query::ParsedQuery;

#[derive(Debug, Error)]
pub enum StreamError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error("internal: a live answer could not be encoded: {0}")]
    Encode(String),
}

#[backend::async_trait]
impl backend::StreamService for PipelinePlugin {
    type JsonValue = ();
    type Error = StreamError;
    type Stream = backend::BoxRunStream<Self::Error>;

    async fn subscribe_stream(
        &self,
        request: backend::SubscribeStreamRequest<Self>,
    ) -> Result<backend::SubscribeStreamResponse, Self::Error> {
        // The panel already holds the first answer (from QueryData): nothing to send yet.
        Ok(match self.live.resolve(request.path.as_str()) {
            Ok(_) => backend::SubscribeStreamResponse::ok(None),
            Err(error) => {
                tracing::info!(path = %request.path, %error, "live subscription refused");
                backend::SubscribeStreamResponse::not_found()
            }
        })
    }

    async fn run_stream(
        &self,
        request: backend::RunStreamRequest<Self>,
    ) -> Result<Self::Stream, Self::Error> {
        let path = request.path.as_str().to_string();
        let (query, frame) = self.live.resolve(&path)?;
        let parsed =
            ParsedQuery::parse(&query.query_type, &query.json).map_err(|e| LiveError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        // Only live queries are registered, so every one has its interval.
        let every = parsed.live_interval().ok_or_else(|| LiveError::Invalid {
            path: path.clone(),
            reason: "the query is not live".into(),
        })?;
        // The first push one interval after QueryData's answer; a push slower than the
        // interval delays the next instead of queueing them.
        let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(%path, every_s = every.as_secs_f64(), "live stream started");
        let state = Pusher {
            plugin: self.clone(),
            // Resolved once: Grafana restarts a datasource's streams when its settings are
            // saved, and a stream asking with older settings every tick would get an instance
            // built for it each time (`Instances::get_or_build` never caches older settings).
            instance: self.instance(request.plugin_context.instance_settings.as_ref()),
            parsed,
            frame,
            ticks,
            _running: self.metrics.live_stream_started(),
        };
        Ok(Box::pin(futures::stream::unfold(
            state,
            |mut s| async move {
                s.ticks.tick().await;
                let packet = s.push().await;
                Some((packet, s))
            },
        )))
    }

    async fn publish_stream(
        &self,
        _request: backend::PublishStreamRequest<Self>,
    ) -> Result<backend::PublishStreamResponse, Self::Error> {
        Ok(backend::PublishStreamResponse::permission_denied(
            serde_json::json!("the live channels of this datasource are read-only"),
        ))
    }
}

/// One running stream: what it re-runs and how often. Dropped (and so counted as stopped) when
/// Grafana ends the stream.
struct Pusher {
    plugin: PipelinePlugin,
    instance: Result<Arc<Instance>, QueryError>,
    parsed: ParsedQuery,
    frame: String,
    ticks: tokio::time::Interval,
    _running: LiveStreamGuard,
}

impl Pusher {
    /// The frame this stream carries, freshly asked; a failed query is pushed as that frame
    /// empty with the query's error as its notice, so the panel shows the error instead of
    /// numbers that are no longer true.
    async fn push(&self) -> Result<StreamPacket, StreamError> {
        let plugin = &self.plugin;
        let answer = plugin
            .run(super::shared(&self.instance), &self.parsed)
            .await
            .map(|frames| frames.into_iter().find(|f| f.name == self.frame));
        let frame = match answer {
            Ok(Some(frame)) => Ok(frame),
            Ok(None) => Err(format!(
                "this answer has no `{}` frame this time; the query's other frames still update",
                self.frame
            )),
            Err(error) => Err(error.to_string()),
        };
        plugin
            .metrics
            .observe_live_push(self.parsed.kind.name(), frame.is_ok());
        let frame = frame.unwrap_or_else(|error| failed_frame(&self.frame, error));
        let checked = frame
            .check()
            .map_err(|e| StreamError::Encode(e.to_string()))?;
        StreamPacket::from_frame(checked).map_err(|e| StreamError::Encode(e.to_string()))
    }
}

fn failed_frame(name: &str, error: String) -> Frame {
    let mut notice = Notice::new(error);
    notice.severity = Some(Severity::Error);
    let mut meta = Metadata::default();
    meta.notices = Some(vec![notice]);
    let mut frame = Frame::new(name);
    frame.meta = Some(meta);
    frame
}
