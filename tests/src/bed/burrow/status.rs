//! What Burrow answers: a group's status (its verdict, per-partition statuses and lag) and the
//! commits of each partition's window it judged.

use super::*;

/// One group's evaluation (`GET /v3/kafka/<cluster>/consumer/<group>/lag`).
#[derive(Debug, Clone, PartialEq)]
pub struct BurrowGroupStatus {
    /// The group's status: `OK`, `WARN`, `ERR` (any partition STOP, STALL or REWIND),
    /// `NOTFOUND`.
    pub status: String,
    /// Every partition Burrow holds commits of: (topic, partition, status `OK`, `WARN`,
    /// `STOP`, `STALL`, `REWIND`), sorted.
    pub partitions: Vec<(String, i32, String)>,
    /// The sum of the partitions' current lag (their log end minus their last commit).
    pub totallag: i64,
    /// Share of partitions whose window of `intervals` commits is full (0 to 1).
    pub complete: f64,
    /// The whole answer's `status` object, for a failure message.
    pub raw: Value,
}

impl BurrowGroupStatus {
    /// Reads the `status` object of a `/lag` answer.
    pub fn from_answer(answer: &Value) -> Result<BurrowGroupStatus, String> {
        if answer["error"] != false {
            return Err(format!("Burrow answered an error: {answer}"));
        }
        let s = &answer["status"];
        let status = s["status"]
            .as_str()
            .ok_or_else(|| format!("no status in {answer}"))?
            .to_string();
        let mut partitions = s["partitions"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p["topic"].as_str().unwrap_or("?").to_string(),
                            p["partition"].as_i64().unwrap_or(-1) as i32,
                            p["status"].as_str().unwrap_or("?").to_string(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        partitions.sort();
        Ok(BurrowGroupStatus {
            status,
            partitions,
            totallag: s["totallag"].as_i64().unwrap_or(0),
            complete: s["complete"].as_f64().unwrap_or(0.0),
            raw: s.clone(),
        })
    }

    /// True when some partition has `status`.
    pub fn any(&self, status: &str) -> bool {
        self.partitions.iter().any(|(_, _, s)| s == status)
    }

    /// How many partitions have each status.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, _, s) in &self.partitions {
            *counts.entry(s.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// `ERR (STOP x12, OK x6; totallag 1234)`: for a line of a report.
    pub fn summary(&self) -> String {
        let counts = self
            .counts()
            .iter()
            .map(|(s, n)| format!("{s} x{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{} ({counts}; totallag {})", self.status, self.totallag)
    }
}

/// One commit of a partition as Burrow stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurrowCommit {
    pub offset: i64,
    /// When the commit was made (the broker's time in the commit), ms since the epoch.
    pub timestamp_ms: i64,
    /// The lag Burrow stored with it: the log end it had last fetched minus the offset, 0 when
    /// that log end was older than the commit.
    pub lag: i64,
}

/// The commits Burrow holds of one partition of a group, oldest first (at most `intervals`).
#[derive(Debug, Clone, PartialEq)]
pub struct BurrowWindow {
    pub topic: String,
    pub partition: i32,
    pub commits: Vec<BurrowCommit>,
}
