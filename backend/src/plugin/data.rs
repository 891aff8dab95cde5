//! QueryData: every query of a request runs concurrently, each under its own timeout, and each
//! answers with its frames or its own error.

use std::sync::Arc;
use std::time::Instant;

use futures::stream::{FuturesOrdered, StreamExt};
use grafana_plugin_sdk::backend::{self, DataQuery, DataResponse};
use grafana_plugin_sdk::data::Frame;

use super::PipelinePlugin;
use crate::error::{QueryError, RefIdError};
use crate::instance::Instance;
use crate::live::{self, LiveQuery};
use crate::query::{self, ParsedQuery, QueryKind};
use crate::{flink, kafka};

#[backend::async_trait]
impl backend::DataService for PipelinePlugin {
    type Query = serde_json::Value;
    type QueryError = RefIdError;
    type Stream = backend::BoxDataResponseStream<Self::QueryError>;

    async fn query_data(
        &self,
        request: backend::QueryDataRequest<Self::Query, Self>,
    ) -> Self::Stream {
        let settings = request.plugin_context.instance_settings.as_ref();
        let instance = self.instance(settings);
        let uid = settings.map(|s| s.uid.as_str());
        let answers: FuturesOrdered<_> = request
            .queries
            .into_iter()
            .map(|q| self.answer(super::shared(&instance), uid, q))
            .collect();
        Box::pin(futures::stream::iter(answers.collect::<Vec<_>>().await))
    }
}

impl PipelinePlugin {
    async fn answer(
        &self,
        instance: Result<Arc<Instance>, QueryError>,
        uid: Option<&str>,
        q: DataQuery<serde_json::Value>,
    ) -> Result<DataResponse, RefIdError> {
        let ref_id = q.ref_id.clone();
        let started = Instant::now();
        // Parsed once: the metrics' query type comes from the same parse as the answer.
        let parsed = ParsedQuery::parse(&q.query_type, &q.query);
        let kind = parsed.as_ref().map_or("invalid", |p| p.kind.name());
        let result = match parsed {
            Ok(parsed) => {
                let frames = self.run(instance, &parsed).await;
                match uid {
                    Some(uid) if parsed.common.live => {
                        frames.map(|f| self.on_live_channels(uid, &q, f))
                    }
                    _ => frames,
                }
            }
            Err(error) => Err(error),
        };
        self.metrics
            .observe_query(kind, started.elapsed(), result.is_ok());
        match result {
            Ok(frames) => {
                let checked: Vec<_> = frames
                    .iter()
                    .map(|f| f.check().map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| RefIdError {
                        ref_id: ref_id.clone(),
                        error: QueryError::Upstream(format!("internal: bad frame: {e}")),
                    })?;
                Ok(DataResponse::new(ref_id, checked))
            }
            Err(error) => {
                tracing::info!(ref_id = %ref_id, error = %error, "query failed");
                Err(RefIdError { ref_id, error })
            }
        }
    }

    /// A live query's frames, each naming the channel its updates are pushed on.
    fn on_live_channels(
        &self,
        uid: &str,
        q: &DataQuery<serde_json::Value>,
        mut frames: Vec<Frame>,
    ) -> Vec<Frame> {
        let key = self.live.register(
            uid,
            LiveQuery {
                query_type: q.query_type.clone(),
                json: q.query.clone(),
            },
        );
        for frame in &mut frames {
            if let Some(channel) = live::channel(uid, &key, &frame.name) {
                frame.set_channel(channel);
            }
        }
        frames
    }

    /// Run one parsed query under its timeout (the one way QueryData and live streams ask).
    pub(super) async fn run(
        &self,
        instance: Result<Arc<Instance>, QueryError>,
        parsed: &ParsedQuery,
    ) -> Result<Vec<Frame>, QueryError> {
        let instance = instance?;
        let timeout = parsed.timeout(instance.settings.query_timeout);
        // The query's timeout bounds its Flink requests too, not only the whole query.
        let work =
            flink::FlinkClient::with_request_timeout(timeout, execute(&instance, parsed, timeout));
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| QueryError::Timeout {
                seconds: timeout.as_secs_f64(),
                target: target_of(&parsed.kind),
            })?
    }
}

/// What a query waits on, for the timeout message.
fn target_of(kind: &QueryKind) -> &'static str {
    kind.query_type().upstream().describe()
}

/// Run one parsed query against the datasource's upstreams: the one place that dispatches on
/// the query's kind.
async fn execute(
    instance: &Instance,
    parsed: &ParsedQuery,
    timeout: std::time::Duration,
) -> Result<Vec<Frame>, QueryError> {
    let name = parsed.kind.name();
    let thresholds = parsed.thresholds(&instance.settings.thresholds)?;
    let t = || thresholds.clone();
    match &parsed.kind {
        QueryKind::Topology(q) => query::topology::topology(instance, q, &t(), timeout).await,
        QueryKind::Health(q) => query::topology::health(instance, q, &t(), timeout).await,
        QueryKind::ConsumerLag(q) => {
            kafka::query::consumer_lag(instance.kafka(name)?, q, &t(), timeout).await
        }
        QueryKind::TimeLag(q) => kafka::query::time_lag(instance.kafka(name)?, q, timeout).await,
        QueryKind::ClusterHealth(_) => {
            kafka::query::cluster_health(instance.kafka(name)?, timeout).await
        }
        QueryKind::Jobs(q) => flink::query::jobs(instance.flink(name)?, q, &t()).await,
        QueryKind::JobGraph(q) => flink::query::job_graph(instance.flink(name)?, q, &t()).await,
        QueryKind::Backpressure(q) => {
            flink::query::backpressure(instance.flink(name)?, q, &t()).await
        }
        QueryKind::Watermarks(q) => {
            let client = instance.flink(name)?;
            flink::query::watermarks(client, &instance.watermarks, q, &t()).await
        }
        QueryKind::Checkpoints(q) => {
            flink::query::checkpoints(instance.flink(name)?, q, &t()).await
        }
        QueryKind::TaskManagers(_) => {
            flink::query::task_managers(instance.flink(name)?, &t()).await
        }
    }
}
