//! Grafana Live for any query with `live` on: it answers QueryData as usual, and each of its
//! frames names a channel, `ds/<datasource uid>/live/<key>/<frame name>`. Grafana's
//! `DataSourceWithBackend` subscribes to the channels it finds in `meta.channel`, and the stream
//! behind each one (`plugin/stream.rs`) re-runs the query every `liveIntervalSeconds` and pushes
//! that frame, so a wall screen updates without the dashboard polling.
//!
//! A channel's path holds at most 160 characters (Grafana's limit), too few for a query, so the
//! query is kept here under a key derived from it. Two panels with the same query get the same
//! channel, and Grafana runs one stream for both. The registry lives as long as the plugin
//! process: after a restart, Grafana's next query registers it again.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Mutex;

use grafana_plugin_sdk::live::Channel;
use thiserror::Error;

/// Queries remembered at once; the least recently asked is forgotten first. A dashboard has a
/// few dozen panels; this bounds the memory of a client that invents queries.
pub const MAX_LIVE_QUERIES: usize = 256;

/// The first part of every live path, so that other paths are refused at once.
const PREFIX: &str = "live";

/// The fields Grafana adds to a panel's query that do not change its answer; left out of the
/// key so that equal queries of different panels share a stream.
const PER_PANEL_FIELDS: [&str; 7] = [
    "refId",
    "datasource",
    "datasourceId",
    "intervalMs",
    "maxDataPoints",
    "hide",
    "key",
];

/// A query as a stream re-runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveQuery {
    pub query_type: String,
    pub json: serde_json::Value,
}

/// Why a stream cannot start. Grafana logs it and retries while a panel is subscribed.
#[derive(Debug, Error, PartialEq)]
pub enum LiveError {
    #[error("`{0}` is not a live channel of this datasource (expected live/<key>/<frame>)")]
    UnknownPath(String),
    #[error(
        "the live query of `{0}` is no longer known to the plugin (it restarted, or more than \
         {MAX_LIVE_QUERIES} live queries were asked since); refresh the dashboard to register it again"
    )]
    Forgotten(String),
    #[error("the live query of `{path}` does not parse: {reason}")]
    Invalid { path: String, reason: String },
}

/// The live queries of every datasource of this plugin process, by key.
#[derive(Debug, Default)]
pub struct LiveQueries {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    by_key: HashMap<String, (LiveQuery, u64)>,
    clock: u64,
}

impl LiveQueries {
    /// Remember `query` of datasource `uid` and return its key.
    pub fn register(&self, uid: &str, query: LiveQuery) -> String {
        let key = key_of(uid, &query);
        let mut r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        r.clock += 1;
        let now = r.clock;
        if !r.by_key.contains_key(&key) && r.by_key.len() >= MAX_LIVE_QUERIES {
            let oldest = r
                .by_key
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                r.by_key.remove(&oldest);
            }
        }
        r.by_key.insert(key.clone(), (query, now));
        key
    }

    /// The query a stream's `path` stands for, and the name of the frame it pushes.
    pub fn resolve(&self, path: &str) -> Result<(LiveQuery, String), LiveError> {
        let (key, frame) = parse_path(path).ok_or_else(|| LiveError::UnknownPath(path.into()))?;
        let r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (query, _) = r
            .by_key
            .get(key)
            .ok_or_else(|| LiveError::Forgotten(path.into()))?;
        Ok((query.clone(), frame.to_string()))
    }
}

/// The channel of frame `frame` of the query under `key` on datasource `uid`, or `None` when
/// Grafana would refuse it (a uid or frame name with characters a channel cannot hold).
pub fn channel(uid: &str, key: &str, frame: &str) -> Option<Channel> {
    if frame.is_empty() || frame.contains('/') {
        return None;
    }
    Channel::from_str(&format!("ds/{uid}/{PREFIX}/{key}/{frame}")).ok()
}

/// `live/<key>/<frame>` split into its key and frame name.
fn parse_path(path: &str) -> Option<(&str, &str)> {
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(key), Some(frame), None) if !key.is_empty() && !frame.is_empty() => {
            Some((key, frame))
        }
        _ => None,
    }
}

/// 16 hex digits of a hash of the datasource and the query without its per-panel fields. std's
/// SipHash with its fixed key is enough: keys only need to agree within one process.
fn key_of(uid: &str, query: &LiveQuery) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    uid.hash(&mut hasher);
    query.query_type.hash(&mut hasher);
    let mut json = query.json.clone();
    if let Some(object) = json.as_object_mut() {
        for field in PER_PANEL_FIELDS {
            object.remove(field);
        }
    }
    json.to_string().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn topology(json: serde_json::Value) -> LiveQuery {
        LiveQuery {
            query_type: "topology".into(),
            json,
        }
    }

    #[test]
    fn a_registered_query_is_found_by_the_path_of_its_channel() {
        let live = LiveQueries::default();
        let q = topology(json!({"live": true, "groups": "roas"}));
        let key = live.register("ds-1", q.clone());
        let channel = channel("ds-1", &key, "nodes").unwrap();
        assert_eq!(channel.to_string(), format!("ds/ds-1/live/{key}/nodes"));
        let path = format!("live/{key}/nodes");
        assert_eq!(live.resolve(&path), Ok((q, "nodes".to_string())));
    }

    #[test]
    fn equal_queries_of_two_panels_share_a_key_and_other_datasources_do_not() {
        let live = LiveQueries::default();
        let a = live.register("ds-1", topology(json!({"refId": "A", "live": true})));
        let b = live.register(
            "ds-1",
            topology(json!({"refId": "B", "live": true, "intervalMs": 5})),
        );
        let other_ds = live.register("ds-2", topology(json!({"refId": "A", "live": true})));
        let other_query = live.register("ds-1", topology(json!({"refId": "A", "groups": "x"})));
        assert_eq!(a, b);
        assert_ne!(a, other_ds);
        assert_ne!(a, other_query);
    }

    #[test]
    fn paths_that_are_not_live_channels_are_refused_and_unknown_keys_named() {
        let live = LiveQueries::default();
        for bad in [
            "",
            "live",
            "live/abc",
            "live//nodes",
            "other/abc/nodes",
            "live/a/b/c",
        ] {
            assert_eq!(
                live.resolve(bad),
                Err(LiveError::UnknownPath(bad.into())),
                "{bad}"
            );
        }
        let err = live.resolve("live/0123456789abcdef/nodes").unwrap_err();
        assert!(err.to_string().contains("refresh the dashboard"), "{err}");
    }

    #[test]
    fn the_registry_is_bounded_and_forgets_the_least_recently_asked() {
        let live = LiveQueries::default();
        let first = live.register("ds", topology(json!({"n": 0})));
        let second = live.register("ds", topology(json!({"n": 1})));
        for n in 2..MAX_LIVE_QUERIES {
            live.register("ds", topology(json!({"n": n})));
        }
        // Asked again, the first is the most recent; the second is now the oldest.
        live.register("ds", topology(json!({"n": 0})));
        live.register("ds", topology(json!({"n": "one more"})));
        assert!(live.resolve(&format!("live/{first}/nodes")).is_ok());
        assert!(matches!(
            live.resolve(&format!("live/{second}/nodes")),
            Err(LiveError::Forgotten(_))
        ));
        assert_eq!(live.inner.lock().unwrap().by_key.len(), MAX_LIVE_QUERIES);
    }

    #[test]
    fn a_frame_or_uid_a_channel_cannot_hold_gets_no_channel() {
        assert!(channel("ds 1", "k", "nodes").is_none());
        assert!(channel("ds-1", "k", "").is_none());
        assert!(channel("ds-1", "k", "a/b").is_none());
        assert!(channel("ds-1", "k", "consumer lag").is_none());
    }
}
