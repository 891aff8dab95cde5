//! What a refresh read about jobs that ended (FINISHED, CANCELED, FAILED). Flink never changes
//! those answers and lists ended jobs for an hour (`jobstore.expiration-time`), so reading them
//! again each refresh made a dashboard's requests grow with every cancelled job (seen in the
//! 30-minute soak). Kept per datasource, forgotten once Flink no longer lists the job.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::{JobSnapshot, Parts};

/// Jobs remembered at most; beyond it nothing new is kept (Flink's own history is the real
/// bound, this one only guards memory against a misconfigured history).
pub const MAX_REMEMBERED: usize = 1024;

/// A job state Flink never leaves.
pub fn is_final(state: &str) -> bool {
    matches!(state, "FINISHED" | "CANCELED" | "FAILED")
}

/// Which of a job's optional round-1 parts an entry holds: an entry read without checkpoints
/// does not answer a query that needs them.
type Key = (String, bool, bool);

fn key(id: &str, parts: Parts) -> Key {
    (id.to_string(), parts.checkpoints, parts.exceptions)
}

#[derive(Debug, Default)]
pub struct FinishedJobs {
    jobs: Mutex<HashMap<Key, JobSnapshot>>,
}

impl FinishedJobs {
    /// The remembered reading of `job` (as listed by the overview), if it ended and was read
    /// whole with these parts.
    pub fn get(&self, job: &JobSnapshot, parts: Parts) -> Option<JobSnapshot> {
        if !is_final(&job.state) {
            return None;
        }
        self.lock().get(&key(&job.id, parts)).cloned()
    }

    /// Remembers `job` if it ended and every request about it answered.
    pub fn keep(&self, job: &JobSnapshot, parts: Parts) {
        if !is_final(&job.state) || !job.unread.is_empty() {
            return;
        }
        let mut jobs = self.lock();
        if jobs.len() < MAX_REMEMBERED {
            jobs.insert(key(&job.id, parts), job.clone());
        }
    }

    /// Forgets every job the overview no longer lists.
    pub fn retain_listed<'a>(&self, listed: impl IntoIterator<Item = &'a str>) {
        let listed: HashSet<&str> = listed.into_iter().collect();
        self.lock()
            .retain(|(id, ..), _| listed.contains(id.as_str()));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, JobSnapshot>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, state: &str) -> JobSnapshot {
        JobSnapshot {
            id: id.into(),
            name: "roas".into(),
            state: state.into(),
            ..Default::default()
        }
    }

    #[test]
    fn only_ended_jobs_read_whole_are_remembered_until_flink_forgets_them() {
        let finished = FinishedJobs::default();
        let parts = Parts::ALL;
        finished.keep(&job("running", "RUNNING"), parts);
        let mut partial = job("partial", "CANCELED");
        partial.unread.push("HTTP 500".into());
        finished.keep(&partial, parts);
        assert!(
            finished.is_empty(),
            "running and partly read jobs are read again"
        );

        let mut cancelled = job("old", "CANCELED");
        cancelled.last_exception = Some("cancelled by the user".into());
        finished.keep(&cancelled, parts);
        let listed = job("old", "CANCELED");
        assert_eq!(finished.get(&listed, parts), Some(cancelled));
        assert_eq!(
            finished.get(&listed, Parts::JOBS),
            None,
            "read with other parts"
        );
        // Listed again as running (ids are unique, but the answer decides, not the cache).
        assert_eq!(finished.get(&job("old", "RUNNING"), parts), None);

        finished.retain_listed(["new"]);
        assert!(
            finished.is_empty(),
            "forgotten once Flink no longer lists it"
        );
    }

    #[test]
    fn the_memory_is_bounded() {
        let finished = FinishedJobs::default();
        for i in 0..MAX_REMEMBERED + 10 {
            finished.keep(&job(&i.to_string(), "FINISHED"), Parts::ALL);
        }
        assert_eq!(finished.len(), MAX_REMEMBERED);
    }
}
