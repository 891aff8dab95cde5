//! The query editor's Kafka listings (CallResource `/kafka/topics`, `/kafka/groups`).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::upstream;
use crate::error::QueryError;
use crate::kafka::client::KafkaClient;
use crate::kafka::cluster;

/// `/kafka/topics`: topic names and partition counts for the query editor.
pub async fn topics_resource(
    client: &KafkaClient,
    timeout: Duration,
) -> Result<serde_json::Value, QueryError> {
    let f = client
        .blocking(move |c| cluster::cluster_facts(c, timeout))
        .await
        .map_err(upstream)?;
    Ok(
        json!({ "topics": f.topics.iter().map(|t| json!({"name": t.name, "partitions": t.partitions})).collect::<Vec<_>>() }),
    )
}

/// `/kafka/groups`: groups Kafka lists, and how they were found.
pub async fn groups_resource(
    client: &KafkaClient,
    timeout: Duration,
) -> Result<serde_json::Value, QueryError> {
    let listed = client
        .blocking(move |c| {
            let deadline = std::time::Instant::now() + timeout;
            let listed = crate::kafka::admin::list_groups(c.consumer(), timeout)
                .map_err(|e| c.admin_error(e, timeout))?;
            let names: Vec<String> = listed.groups.iter().map(|g| g.name.clone()).collect();
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // Members are a nicety for the editor: without a description the list still helps.
            let members: HashMap<String, usize> = crate::kafka::admin::describe_groups(c.consumer(), &names, left)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(n, d)| Some((n, d.ok()?.members.len())))
                .collect();
            Ok(listed
                .groups
                .iter()
                .map(|g| json!({"name": g.name, "state": g.state, "type": g.kind, "members": members.get(&g.name)}))
                .collect::<Vec<_>>())
        })
        .await;
    Ok(match listed {
        Ok(groups) => json!({ "groups": groups, "source": "listGroups+describeGroups" }),
        // Listing is optional for the editor: a user can still type a group name.
        Err(e) => json!({ "groups": [], "source": "none", "error": e.to_string() }),
    })
}
