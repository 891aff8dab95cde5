//! The background sampler of one datasource: it takes a snapshot of what queries asked about
//! recently, every [`super::status::spacing`] seconds, so that consumer status and time lag
//! have their history whether or not a dashboard is open at that moment.
//!
//! Bounded: at most [`MAX_WATCHED`] selections, each dropped after [`IDLE_AFTER`] without a
//! query; with nothing left to watch it samples nothing, and it ends with its client.

use std::time::{Duration, Instant};

use super::client::KafkaClient;
use super::offsets::{lag_snapshot, Selection};
use super::status;

/// A selection no query asked about for this long is no longer sampled.
pub const IDLE_AFTER: Duration = Duration::from_secs(600);
/// Selections sampled at most; the least recently used one goes first.
pub const MAX_WATCHED: usize = 16;
/// One background snapshot may take at most this long.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10);

/// The selections queries asked about, with when they last did.
#[derive(Debug, Default)]
pub struct Watched {
    entries: Vec<(String, Selection, Instant)>,
}

fn key(sel: &Selection) -> String {
    let re = |r: &Option<regex::Regex>| r.as_ref().map(|r| r.as_str().to_string());
    format!(
        "{:?}|{:?}|{:?}",
        sel.groups,
        re(&sel.group_pattern),
        re(&sel.topic_pattern)
    )
}

impl Watched {
    /// A query asked about `sel` now.
    pub fn touch(&mut self, sel: &Selection) {
        let k = key(sel);
        let now = Instant::now();
        if let Some(e) = self.entries.iter_mut().find(|e| e.0 == k) {
            e.2 = now;
            return;
        }
        if self.entries.len() >= MAX_WATCHED {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].2) {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push((k, sel.clone(), now));
    }

    /// The selections still in use (idle ones are forgotten).
    pub fn live(&mut self) -> Vec<Selection> {
        self.live_at(Instant::now())
    }

    fn live_at(&mut self, now: Instant) -> Vec<Selection> {
        self.entries
            .retain(|e| now.saturating_duration_since(e.2) < IDLE_AFTER);
        self.entries.iter().map(|e| e.1.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Start the sampler of `client` on the current tokio runtime (none outside one, e.g. in unit
/// tests).
pub fn start(client: &KafkaClient) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = client.downgrade();
    let period = Duration::from_secs_f64(status::spacing(&client.settings().status_window));
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(client) = KafkaClient::upgrade(&weak) else {
                return;
            };
            let selections = client.watched().live();
            for sel in selections {
                let snap = client
                    .blocking(move |c| lag_snapshot(c, &sel, SNAPSHOT_TIMEOUT))
                    .await;
                match snap {
                    Ok(snap) => status::record(&client, &snap),
                    Err(e) => tracing::debug!("background Kafka sample failed: {e}"),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(group: &str) -> Selection {
        Selection {
            groups: vec![group.to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn watched_selections_are_bounded_deduplicated_and_forgotten_when_idle() {
        let mut w = Watched::default();
        w.touch(&named("a"));
        w.touch(&named("a"));
        assert_eq!(w.len(), 1, "the same selection twice is one");
        for i in 0..(MAX_WATCHED + 5) {
            w.touch(&named(&format!("g{i}")));
        }
        assert_eq!(w.len(), MAX_WATCHED, "the least recently used go first");
        let later = Instant::now() + IDLE_AFTER + Duration::from_secs(1);
        assert!(
            w.live_at(later).is_empty(),
            "nothing asked for 10 minutes: nothing sampled"
        );
        assert!(w.is_empty());
    }
}
