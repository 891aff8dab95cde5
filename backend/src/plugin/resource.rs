//! CallResource: small JSON endpoints that fill the query editor's dropdowns.
//!
//! `GET /query-types` lists the query types this backend answers. Kafka and Flink listings
//! (topics, groups, jobs, vertices) are added next to their modules.

use bytes::Bytes;
use grafana_plugin_sdk::backend::{self, BoxResourceStream, ErrIntoHttpResponse};
use http::{Response, StatusCode};
use pipeline_model::QueryType;

use super::PipelinePlugin;
use crate::error::QueryError;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("no resource at `{0}`; known: /query-types, /kafka/topics, /kafka/groups, /flink/jobs, /flink/jobs/<id>/vertices")]
    NotFound(String),
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl ErrIntoHttpResponse for ResourceError {
    fn into_http_response(self) -> Result<Response<Bytes>, Box<dyn std::error::Error>> {
        let status = match &self {
            ResourceError::NotFound(_) => StatusCode::NOT_FOUND,
            ResourceError::Query(QueryError::Upstream(_) | QueryError::Timeout { .. }) => {
                StatusCode::BAD_GATEWAY
            }
            ResourceError::Query(_) => StatusCode::BAD_REQUEST,
        };
        json_response(status, &serde_json::json!({ "error": self.to_string() }))
    }
}

fn json_response(
    status: StatusCode,
    body: &serde_json::Value,
) -> Result<Response<Bytes>, Box<dyn std::error::Error>> {
    Ok(Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(serde_json::to_vec(body)?))?)
}

#[backend::async_trait]
impl backend::ResourceService for PipelinePlugin {
    type Error = ResourceError;
    type InitialResponse = Response<Bytes>;
    type Stream = BoxResourceStream<Self::Error>;

    async fn call_resource(
        &self,
        request: backend::CallResourceRequest<Self>,
    ) -> Result<(Self::InitialResponse, Self::Stream), Self::Error> {
        let path = request
            .request
            .uri()
            .path()
            .trim_end_matches('/')
            .to_string();
        let body = match path.as_str() {
            "/query-types" | "query-types" => {
                serde_json::json!({ "queryTypes": QueryType::names().collect::<Vec<_>>() })
            }
            "/kafka/topics" | "kafka/topics" | "/kafka/groups" | "kafka/groups" => {
                let instance = self.instance(request.plugin_context.instance_settings.as_ref())?;
                let client = instance.kafka("kafka resources")?;
                let timeout = instance.settings.query_timeout;
                if path.ends_with("topics") {
                    crate::kafka::query::listings::topics_resource(client, timeout).await?
                } else {
                    crate::kafka::query::listings::groups_resource(client, timeout).await?
                }
            }
            p if p.trim_start_matches('/').starts_with("flink/") => {
                let instance = self.instance(request.plugin_context.instance_settings.as_ref())?;
                let client = instance.flink("flink resources")?;
                match crate::flink::query::listings::resource(client, p.trim_start_matches('/'))
                    .await?
                {
                    Some(body) => body,
                    None => return Err(ResourceError::NotFound(path)),
                }
            }
            _ => return Err(ResourceError::NotFound(path)),
        };
        let response = json_response(StatusCode::OK, &body)
            .map_err(|e| ResourceError::Query(QueryError::Upstream(e.to_string())))?;
        Ok((response, Box::pin(futures::stream::empty())))
    }
}
