//! Measuring the backend: cold and warm `consumerLag` queries, each answer checked against the
//! plan, the requests of one snapshot (from `meta.custom`), and the process's memory.

use super::*;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `VmHWM:`/`VmRSS:` line of /proc/PID/status, in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak resident memory (VmHWM) of our live child running the backend binary. A backend of an
/// earlier stage may still be a zombie (killed, not yet reaped): it has no memory lines.
pub fn backend_peak_kib() -> Option<u64> {
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap_or_default();
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid != me || comm != "gpx_kafkaflink" || state == "Z" {
            continue;
        }
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        if let Some(kib) = proc_status_kib(pid, "VmHWM:") {
            return Some(kib);
        }
    }
    None
}

/// Requests of one snapshot as the backend reports them in `meta.custom`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Requests {
    pub list_groups: u64,
    pub describe_groups: u64,
    pub end_offsets: u64,
    pub offset_fetch: u64,
}

impl Requests {
    pub fn from_meta(meta: &Value) -> Option<Requests> {
        let c = &meta["custom"];
        Some(Requests {
            list_groups: c["listGroupsRequests"].as_u64()?,
            describe_groups: c["describeGroupsRequests"].as_u64()?,
            end_offsets: c["endOffsetRequests"].as_u64()?,
            offset_fetch: c["offsetFetchRequests"].as_u64()?,
        })
    }

    /// With the one Metadata request the backend does not count.
    pub fn total(&self) -> u64 {
        self.list_groups + self.describe_groups + self.end_offsets + self.offset_fetch + 1
    }
}

/// Wrong rows of one answer (missing, extra, duplicated, or a lag other than the plan's) and
/// the requests it reports. Groups whose topic is not among the first `selected_topics` must
/// show no lag (or 0). The first few problems go to stderr.
pub fn check(
    answer: &Answer,
    plan: &Plan,
    groups: usize,
    selected_topics: usize,
) -> (usize, Option<Requests>) {
    if !answer.error.is_empty() {
        eprintln!("query failed (status {}): {}", answer.status, answer.error);
        return (groups, None);
    }
    let Some(frame) = answer.frames.iter().find(|f| f.name == "groups") else {
        eprintln!(
            "no groups frame: {:?}",
            answer.frames.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        return (groups, None);
    };
    let requests = Requests::from_meta(&frame.meta);
    let mut rows: HashMap<&str, Option<i64>> = HashMap::new();
    let mut wrong = 0;
    let mut report = |what: String| {
        wrong += 1;
        if wrong <= 5 {
            eprintln!("mismatch: {what}");
        }
    };
    let names = &frame.field("group").values;
    let lags = &frame.field("lag").values;
    for (name, lag) in names.iter().zip(lags) {
        let name = name.as_str().unwrap_or_default();
        if rows.insert(name, lag.as_i64()).is_some() {
            report(format!("{name}: two rows"));
        }
    }
    let expected: BTreeMap<String, Option<i64>> = (0..groups)
        .map(|g| {
            let selected = plan.topic_of(g) < selected_topics;
            (plan.group(g), selected.then(|| plan.lag(g)))
        })
        .collect();
    for name in rows.keys().filter(|n| !expected.contains_key(**n)) {
        report(format!("{name}: a row the bench did not commit"));
    }
    for (name, want) in &expected {
        let got = rows.get(name.as_str()).copied();
        let ok = match (want, got) {
            (_, None) => false,
            (Some(w), Some(g)) => g == Some(*w),
            (None, Some(g)) => g.unwrap_or(0) == 0,
        };
        if !ok {
            report(format!("{name}: lag {got:?}, expected {want:?}"));
        }
    }
    (wrong, requests)
}

pub struct Timings {
    pub cold: Duration,
    /// Sorted.
    pub warm: Vec<Duration>,
    pub requests: Vec<Requests>,
    pub mismatches: usize,
}

impl Timings {
    pub fn median(&self) -> Duration {
        self.warm[self.warm.len() / 2]
    }

    /// "61" or "61-63" when snapshots disagreed.
    pub fn requests_text(&self) -> String {
        let totals: Vec<u64> = self.requests.iter().map(Requests::total).collect();
        match (totals.iter().min(), totals.iter().max()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "?".into(),
        }
    }
}

/// One cold query (unless `warm_only`) and [`WARM_QUERIES`] warm ones, each checked.
pub async fn measure(
    host: &PluginHost,
    ds: &DatasourceConfig,
    query: &Value,
    plan: &Plan,
    groups: usize,
    selected_topics: usize,
) -> Timings {
    let mut all = Vec::new();
    let mut requests = Vec::new();
    let mut mismatches = 0;
    for _ in 0..=WARM_QUERIES {
        let started = Instant::now();
        let answer = host.query_one(ds, "consumerLag", query.clone()).await;
        all.push(started.elapsed());
        let (wrong, req) = check(&answer, plan, groups, selected_topics);
        mismatches = mismatches.max(wrong);
        requests.extend(req);
    }
    let cold = all.remove(0);
    all.sort();
    Timings {
        cold,
        warm: all,
        requests,
        mismatches,
    }
}

pub struct Stage {
    pub groups: usize,
    pub commit: Duration,
    pub timings: Timings,
    pub peak_kib: Option<u64>,
}
