//! Coalescing of topology refreshes: the queries of one datasource that need the same facts at
//! about the same time share one refresh, so a dashboard of ten topology and health panels (and
//! its alert rules) asks Kafka and Flink once, not ten times.
//!
//! A query that finds a refresh in flight waits for it; one that finds a result whose refresh
//! started less than the window ago reuses it; otherwise it refreshes and publishes the result.
//! No task is spawned: the first query runs the refresh itself, under its own timeout and
//! request bound; if it goes away before answering (its request cancelled), a waiting query
//! takes over. A window of zero turns all of this off.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::time::Instant;

use super::facts::{FlinkFacts, KafkaFacts};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoalesceError {
    /// Said after the side's name, like the message of a refresh that ran out of time.
    #[error("did not answer within {:.1} s", .0.as_secs_f64())]
    Waited(Duration),
}

/// Refreshes by key: the one in flight or the latest, and when it started.
pub struct Coalescer<K, V> {
    window: Duration,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

struct Entry<V> {
    started: Instant,
    /// `None` until the refresh answers; closed without a value if its query went away.
    result: watch::Receiver<Option<V>>,
}

impl<V> Entry<V> {
    fn usable(&self, now: Instant, window: Duration) -> bool {
        match &*self.result.borrow() {
            Some(_) => now.duration_since(self.started) < window,
            None => self.result.has_changed().is_ok(),
        }
    }
}

enum Role<V> {
    Lead(watch::Sender<Option<V>>),
    Wait(watch::Receiver<Option<V>>),
}

impl<K: Eq + Hash + Clone, V: Clone> Coalescer<K, V> {
    pub fn new(window: Duration) -> Self {
        Coalescer {
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `refresh` for `key`: shared with the queries that ask within the window.
    /// Waiting on another query's refresh takes at most `wait_limit`; running one's own is
    /// bounded by the caller.
    pub async fn share<F>(
        &self,
        key: K,
        wait_limit: Duration,
        refresh: impl FnOnce() -> F,
    ) -> Result<V, CoalesceError>
    where
        F: Future<Output = V>,
    {
        if self.window.is_zero() {
            return Ok(refresh().await);
        }
        let deadline = Instant::now() + wait_limit;
        let publish = loop {
            let mut result = match self.join_or_lead(&key) {
                Role::Lead(publish) => break publish,
                Role::Wait(result) => result,
            };
            let seen = tokio::time::timeout_at(deadline, result.wait_for(Option::is_some))
                .await
                .map_err(|_| CoalesceError::Waited(wait_limit))?
                .map(|v| (*v).clone());
            // Err: the query running the refresh went away before answering; take over.
            if let Ok(Some(value)) = seen {
                return Ok(value);
            }
        };
        let value = refresh().await;
        publish.send_replace(Some(value.clone()));
        Ok(value)
    }

    fn join_or_lead(&self, key: &K) -> Role<V> {
        let now = Instant::now();
        let mut entries = self.lock();
        // Expired and abandoned entries go here, so keys no query asks again do not pile up.
        entries.retain(|_, e| e.usable(now, self.window));
        if let Some(entry) = entries.get(key) {
            return Role::Wait(entry.result.clone());
        }
        let (publish, result) = watch::channel(None);
        entries.insert(
            key.clone(),
            Entry {
                started: now,
                result,
            },
        );
        Role::Lead(publish)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry<V>>> {
        // Each change to the map is one call, so a poisoned lock leaves nothing half-written.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One side's facts as a refresh left them: the facts, or why that side could not be asked.
pub type Side<T> = Result<Arc<T>, String>;

/// The facts of topology refreshes, shared by the queries of one datasource instance. Facts
/// carry no thresholds (each query applies its own when assembling), so only what changes the
/// requests is in a key: Kafka's groups, and the side's time budget, since a refresh under a
/// shorter timeout may report a side as late, which a query with a longer one must not inherit.
/// The pipeline description only joins the facts, so it is not in a key.
pub struct SharedFacts {
    kafka: Coalescer<(Duration, Vec<String>), Side<KafkaFacts>>,
    flink: Coalescer<Duration, Side<FlinkFacts>>,
}

impl SharedFacts {
    pub fn new(window: Duration) -> Self {
        SharedFacts {
            kafka: Coalescer::new(window),
            flink: Coalescer::new(window),
        }
    }

    pub async fn kafka<F>(
        &self,
        groups: &[String],
        budget: Duration,
        refresh: impl FnOnce() -> F,
    ) -> Side<KafkaFacts>
    where
        F: Future<Output = Result<KafkaFacts, String>>,
    {
        side(
            &self.kafka,
            (budget, groups.to_vec()),
            "Kafka",
            budget,
            refresh,
        )
        .await
    }

    pub async fn flink<F>(&self, budget: Duration, refresh: impl FnOnce() -> F) -> Side<FlinkFacts>
    where
        F: Future<Output = Result<FlinkFacts, String>>,
    {
        side(&self.flink, budget, "Flink", budget, refresh).await
    }
}

async fn side<K: Eq + Hash + Clone, T, F>(
    coalescer: &Coalescer<K, Side<T>>,
    key: K,
    name: &str,
    budget: Duration,
    refresh: impl FnOnce() -> F,
) -> Side<T>
where
    F: Future<Output = Result<T, String>>,
{
    coalescer
        .share(key, budget, || async { refresh().await.map(Arc::new) })
        .await
        .unwrap_or_else(|e| Err(format!("{name} {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    /// A refresh that counts its runs and answers the run's number after `takes`.
    async fn counting(runs: &AtomicUsize, takes: Duration) -> usize {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(takes).await;
        run
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh() {
        let c = Coalescer::new(Duration::from_secs(2));
        let runs = AtomicUsize::new(0);
        let calls =
            (0..10).map(|_| c.share("k", WAIT, || counting(&runs, Duration::from_millis(300))));
        let answers = futures::future::join_all(calls).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| *a == Ok(1)), "{answers:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_result_is_reused_within_the_window_and_refreshed_after() {
        let c = Coalescer::new(Duration::from_secs(2));
        let runs = AtomicUsize::new(0);
        let ask = || c.share("k", WAIT, || counting(&runs, Duration::from_millis(100)));
        assert_eq!(ask().await, Ok(1));
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(
            ask().await,
            Ok(1),
            "1.6 s after the refresh started: reused"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(ask().await, Ok(2), "2.1 s after: refreshed");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_window_shares_nothing() {
        let c = Coalescer::new(Duration::ZERO);
        let runs = AtomicUsize::new(0);
        let calls =
            (0..10).map(|_| c.share("k", WAIT, || counting(&runs, Duration::from_millis(300))));
        futures::future::join_all(calls).await;
        assert_eq!(runs.load(Ordering::SeqCst), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn different_keys_refresh_separately() {
        let c = Coalescer::new(Duration::from_secs(2));
        let runs = AtomicUsize::new(0);
        let refresh = || counting(&runs, Duration::from_millis(10));
        let (a, b) = tokio::join!(c.share("a", WAIT, refresh), c.share("b", WAIT, refresh));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_ne!(a, b);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_at_its_own_limit() {
        let c = Coalescer::new(Duration::from_secs(2));
        let runs = AtomicUsize::new(0);
        let slow = c.share("k", WAIT, || counting(&runs, Duration::from_secs(3)));
        let impatient = async {
            tokio::task::yield_now().await;
            c.share("k", Duration::from_secs(1), || {
                counting(&runs, Duration::ZERO)
            })
            .await
        };
        let (slow, impatient) = tokio::join!(slow, impatient);
        assert_eq!(slow, Ok(1));
        assert_eq!(
            impatient,
            Err(CoalesceError::Waited(Duration::from_secs(1)))
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the waiter did not start its own"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_takes_over_when_the_refreshing_query_goes_away() {
        let c = Coalescer::new(Duration::from_secs(2));
        let runs = AtomicUsize::new(0);
        let leader = c.share("k", WAIT, || counting(&runs, Duration::from_secs(3)));
        // The leader's query is cancelled after 1 s, in the middle of its refresh.
        let cancelled = tokio::time::timeout(Duration::from_secs(1), leader);
        let waiter = async {
            tokio::task::yield_now().await;
            c.share("k", WAIT, || counting(&runs, Duration::from_millis(100)))
                .await
        };
        let (cancelled, waiter) = tokio::join!(cancelled, waiter);
        assert!(cancelled.is_err());
        assert_eq!(waiter, Ok(2), "the waiter ran the refresh itself");
    }

    #[tokio::test(start_paused = true)]
    async fn a_side_that_waited_too_long_names_itself() {
        let shared = SharedFacts::new(Duration::from_secs(2));
        let hang = || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(FlinkFacts::default())
        };
        let (_, late) = tokio::join!(shared.flink(Duration::from_secs(8), hang), async {
            tokio::task::yield_now().await;
            // The same budget joins the same refresh; it hangs, so the wait's limit answers.
            shared.flink(Duration::from_secs(8), hang).await
        });
        assert_eq!(late.unwrap_err(), "Flink did not answer within 8.0 s");
    }
}
