//! The peer of this suite: the one Burrow of the test binary, watching the live job's group,
//! and its verdict through one fault polled beside ours ([`Peer`]).

use super::*;

/// Burrow on the bed's cluster for this test binary, started on first use and shared by the
/// tests like the bed; it keeps only the job's group.
pub(super) fn burrow() -> &'static Burrow {
    static BURROW: OnceLock<Burrow> = OnceLock::new();
    BURROW.get_or_init(|| {
        let mut options = BurrowOptions::new("bed", &format!("^{GROUP}$"));
        options.intervals = BURROW_INTERVALS;
        options.offset_refresh_seconds = BURROW_OFFSET_REFRESH;
        // Each poll sees a fresh evaluation, so that its time is Burrow's, not its cache's.
        options.expire_cache_seconds = 1;
        let burrow = Burrow::start(bed().kafka(), &bed().run_dir, options);
        let listed = burrow
            .wait_listed(
                |groups| {
                    if groups.iter().any(|g| g == GROUP) {
                        Ok(())
                    } else {
                        Err(format!("lists {groups:?}"))
                    }
                },
                BURROW_LISTED_BOUND,
            )
            .unwrap_or_else(|why| panic!("{why}"));
        eprintln!(
            "burrow: listening on 127.0.0.1:{}, lists {GROUP} {:.0} s after its start; log {}",
            burrow.port(),
            listed.as_secs_f64(),
            burrow.log_path().display()
        );
        burrow
    })
}

/// Burrow's evaluation of the group through one fault, polled beside each of our queries:
/// the first moment it said `want`, and what it says now.
pub(super) struct Peer {
    fault: &'static str,
    want: &'static str,
    says: fn(&BurrowGroupStatus) -> bool,
    pub(super) since: Instant,
    pub(super) first: Option<f64>,
    pub(super) last: Option<BurrowGroupStatus>,
}

impl Peer {
    /// From the fault, made right after this call.
    pub(super) fn new(
        fault: &'static str,
        want: &'static str,
        says: fn(&BurrowGroupStatus) -> bool,
    ) -> Peer {
        Peer {
            fault,
            want,
            says,
            since: Instant::now(),
            first: None,
            last: None,
        }
    }

    pub(super) fn poll(&mut self) {
        let now = burrow().group_status(GROUP);
        if self.first.is_none() && now.as_ref().is_some_and(self.says) {
            self.first = Some(self.since.elapsed().as_secs_f64());
        }
        self.last = now;
    }

    pub(super) fn now_text(&self) -> String {
        self.last.as_ref().map_or_else(
            || "no evaluation (Burrow holds no commit of the group)".to_string(),
            BurrowGroupStatus::summary,
        )
    }

    /// Called at our verdict `ours` (`ours_after` s from the fault): keeps what Burrow says at
    /// that moment, polls Burrow and us every 2 s until Burrow has said `want` or
    /// [`BURROW_AFTER_BOUND`] passes, and prints the comparison, with our status when Burrow
    /// said it. The seconds from the fault to Burrow's `want`.
    pub(super) async fn settle(
        &mut self,
        host: &PluginHost,
        ds: &DatasourceConfig,
        ours: &str,
        ours_after: f64,
    ) -> Option<f64> {
        self.settle_or(host, ds, ours, ours_after, |_| None).await
    }

    /// [`Peer::settle`], also ending when `done` (asked after each poll) has a last word on
    /// what Burrow said instead, which goes into the printed line.
    pub(super) async fn settle_or(
        &mut self,
        host: &PluginHost,
        ds: &DatasourceConfig,
        ours: &str,
        ours_after: f64,
        mut done: impl FnMut(&Peer) -> Option<String>,
    ) -> Option<f64> {
        let at_ours = self.now_text();
        let mut ours_then = ours.to_string();
        let mut word = None;
        let deadline = Instant::now() + BURROW_AFTER_BOUND;
        while self.first.is_none() && word.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (row, _) = group_status(host, ds).await;
            self.poll();
            ours_then = row["consumerStatus"].as_str().unwrap_or("-").to_string();
            word = done(self);
        }
        let burrow = match (self.first, word) {
            (Some(s), _) => format!(
                "Burrow {} after {s:.0} s (ours then {ours_then})",
                self.want
            ),
            (None, Some(word)) => format!(
                "Burrow not {} but {} after {:.0} s (ours then {ours_then}): {word}",
                self.want,
                self.now_text(),
                self.since.elapsed().as_secs_f64()
            ),
            (None, None) => format!(
                "Burrow not {} within {} s of ours (last: {}; ours then {ours_then})",
                self.want,
                BURROW_AFTER_BOUND.as_secs(),
                self.now_text()
            ),
        };
        eprintln!(
            "ours vs Burrow: {}: ours {ours} after {ours_after:.0} s, Burrow then {at_ours}; {burrow}",
            self.fault
        );
        self.first
    }

    /// Panics unless Burrow said `want`, with its last evaluation in full.
    pub(super) fn assert_agrees(&self) {
        assert!(
            self.first.is_some(),
            "{}: Burrow never said {} (its rules on its own data); last evaluation: {}",
            self.fault,
            self.want,
            self.raw()
        );
    }

    pub(super) fn raw(&self) -> String {
        self.last
            .as_ref()
            .map_or_else(|| "none".to_string(), |s| s.raw.to_string())
    }
}

/// OK, with every partition's window full: a window of one or two commits spans so little
/// that Burrow calls a partition STOP a few seconds after its last commit (as it does while
/// it reads a new group's first commits).
pub(super) fn burrow_ok_full(s: &BurrowGroupStatus) -> bool {
    s.status == "OK" && s.complete >= 1.0
}

pub(super) fn burrow_ok(s: &BurrowGroupStatus) -> bool {
    s.status == "OK"
}

pub(super) fn burrow_warn(s: &BurrowGroupStatus) -> bool {
    s.status == "WARN"
}

pub(super) fn burrow_stop(s: &BurrowGroupStatus) -> bool {
    s.status == "ERR" && s.any("STOP")
}

pub(super) fn burrow_rewind(s: &BurrowGroupStatus) -> bool {
    s.any("REWIND")
}
