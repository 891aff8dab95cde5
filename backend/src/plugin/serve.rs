//! The gRPC server Grafana talks to, with one difference from the SDK's `Plugin::start`: a query
//! whose JSON does not parse gets its own error instead of failing the whole request.
//!
//! The SDK converts a QueryData request as a whole, so one malformed query (bad JSON, or bytes
//! that are not UTF-8) turns into a gRPC INVALID_ARGUMENT for every query beside it, with the
//! raw query text in the message. [`CheckedQueries`] takes such queries out first and answers
//! them itself; the rest go through the SDK's own QueryData handler unchanged. Everything else
//! (health service, Diagnostics, Resource, Stream) is registered as the SDK registers it.

use std::collections::HashMap;

use futures::StreamExt;
use grafana_plugin_sdk::pluginv2::{
    self, data_server::DataServer, diagnostics_server::DiagnosticsServer,
    resource_server::ResourceServer, stream_server::StreamServer,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use super::PipelinePlugin;

/// Serves the plugin's services on the listener of `backend::initialize` until Grafana stops it.
pub async fn serve(
    plugin: PipelinePlugin,
    listener: TcpListener,
) -> Result<(), Box<dyn std::error::Error>> {
    // Without TCP_NODELAY (which `serve_with_incoming` leaves to us), an answer written in
    // several HTTP/2 frames can wait for the peer's delayed ACK: about 40 ms per answer.
    // A socket that refuses the option still works, only slower: it is served all the same.
    let accepted = TcpListenerStream::new(listener).inspect(|s| {
        if let Ok(s) = s {
            let _ = s.set_nodelay(true);
        }
    });
    let (mut health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<DiagnosticsServer<PipelinePlugin>>()
        .await;
    health.set_serving::<DataServer<CheckedQueries>>().await;
    health.set_serving::<ResourceServer<PipelinePlugin>>().await;
    health.set_serving::<StreamServer<PipelinePlugin>>().await;
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(DiagnosticsServer::new(plugin.clone()))
        .add_service(DataServer::new(CheckedQueries(plugin.clone())))
        .add_service(ResourceServer::new(plugin.clone()))
        .add_service(StreamServer::new(plugin))
        .serve_with_incoming(accepted)
        .await?;
    Ok(())
}

/// QueryData with each query's JSON checked before the SDK's conversion sees it.
pub struct CheckedQueries(pub PipelinePlugin);

#[tonic::async_trait]
impl pluginv2::data_server::Data for CheckedQueries {
    async fn query_data(
        &self,
        request: tonic::Request<pluginv2::QueryDataRequest>,
    ) -> Result<tonic::Response<pluginv2::QueryDataResponse>, tonic::Status> {
        let mut request = request.into_inner();
        let rejected = take_malformed(&mut request.queries);
        for _ in &rejected {
            self.0
                .metrics
                .observe_query("invalid", std::time::Duration::ZERO, false);
        }
        let mut response = if request.queries.is_empty() {
            pluginv2::QueryDataResponse::default()
        } else {
            // The SDK's handler for the well-formed rest, as `Plugin::start` would call it.
            <PipelinePlugin as pluginv2::data_server::Data>::query_data(
                &self.0,
                tonic::Request::new(request),
            )
            .await?
            .into_inner()
        };
        response.responses.extend(rejected);
        Ok(tonic::Response::new(response))
    }
}

/// Removes the queries whose JSON does not parse and returns an answer for each, by refId: a
/// bad-request error that says where the JSON breaks, never the text itself (it may hold
/// anything the user typed).
fn take_malformed(
    queries: &mut Vec<pluginv2::DataQuery>,
) -> HashMap<String, pluginv2::DataResponse> {
    let mut rejected = HashMap::new();
    queries.retain(|q| {
        // An empty body is what the SDK reads as "no fields"; it parses the rest itself.
        if q.json.is_empty() {
            return true;
        }
        // `IgnoredAny` skips strings without checking them, so UTF-8 is checked first.
        let problem = match std::str::from_utf8(&q.json) {
            Err(e) => Some(format!("is not UTF-8 text (byte {})", e.valid_up_to())),
            Ok(text) => serde_json::from_str::<serde::de::IgnoredAny>(text)
                .err()
                .map(|e| format!("is not valid JSON ({e})")),
        };
        match problem {
            None => true,
            Some(problem) => {
                let error = format!(
                    "the query {problem}; re-save the panel's query or fix the JSON in its model"
                );
                tracing::info!(ref_id = %q.ref_id, %error, "query rejected");
                rejected.insert(
                    q.ref_id.clone(),
                    pluginv2::DataResponse {
                        frames: vec![],
                        error,
                        json_meta: vec![],
                        status: 400,
                    },
                );
                false
            }
        }
    });
    rejected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(ref_id: &str, json: &[u8]) -> pluginv2::DataQuery {
        pluginv2::DataQuery {
            ref_id: ref_id.into(),
            json: json.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn malformed_queries_are_answered_alone_and_never_echoed() {
        let mut queries = vec![
            query("A", br#"{"queryType":"health"}"#),
            query("B", br#"{"queryType":"health", "password": "hunter2""#),
            query("C", b"{\"queryType\":\"\xff\xfe\"}"),
            query("D", b""),
        ];
        let rejected = take_malformed(&mut queries);
        let kept: Vec<_> = queries.iter().map(|q| q.ref_id.as_str()).collect();
        assert_eq!(kept, ["A", "D"]);
        let mut refs: Vec<_> = rejected.keys().map(String::as_str).collect();
        refs.sort_unstable();
        assert_eq!(refs, ["B", "C"]);
        for answer in rejected.values() {
            assert_eq!(answer.status, 400);
            assert!(
                answer.error.starts_with("the query is not"),
                "{}",
                answer.error
            );
            assert!(!answer.error.contains("hunter2"), "{}", answer.error);
        }
    }
}
