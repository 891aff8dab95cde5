//! The times a user may set: the datasource's `queryTimeoutSeconds`, a query's own
//! `timeoutSeconds` and a live query's `liveIntervalSeconds`, checked by the same rule in the
//! backend and in the editors.

/// At least 100 ms, so that a slip such as `1e-300` is refused instead of timing every call out
/// at once; at most five minutes, past any dashboard refresh.
pub const TIMEOUT_SECONDS: (f64, f64) = (0.1, 300.0);

/// How often a live query pushes a new answer over Grafana Live: at least every second's
/// worth of Kafka and Flink requests is bounded, at most an hour.
pub const LIVE_INTERVAL_SECONDS: (f64, f64) = (1.0, 3600.0);

/// A live query's interval when it names none: a wall screen's usual refresh.
pub const LIVE_INTERVAL_DEFAULT_SECONDS: f64 = 10.0;

/// Why `seconds` is not a timeout the datasource accepts, or `None` when it is.
pub fn timeout_problem(seconds: f64) -> Option<String> {
    out_of_range(TIMEOUT_SECONDS, seconds)
}

/// Why `seconds` is not a live interval the datasource accepts, or `None` when it is.
pub fn live_interval_problem(seconds: f64) -> Option<String> {
    out_of_range(LIVE_INTERVAL_SECONDS, seconds)
}

fn out_of_range((min, max): (f64, f64), seconds: f64) -> Option<String> {
    let ok = seconds.is_finite() && (min..=max).contains(&seconds);
    (!ok).then(|| {
        format!(
            "must be between {} and {} seconds, got {}",
            crate::shown(min),
            crate::shown(max),
            crate::shown(seconds)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_too_small_to_ask_anything_is_refused_like_one_too_large() {
        assert_eq!(timeout_problem(10.0), None);
        assert_eq!(timeout_problem(0.1), None);
        assert_eq!(timeout_problem(300.0), None);
        assert_eq!(
            timeout_problem(1e-300).as_deref(),
            Some("must be between 0.1 and 300 seconds, got 1e-300")
        );
        assert!(timeout_problem(0.0).is_some());
        assert!(timeout_problem(301.0).is_some());
        assert!(timeout_problem(f64::NAN).is_some());
        assert_eq!(
            timeout_problem(1e308).as_deref(),
            Some("must be between 0.1 and 300 seconds, got 1e308")
        );
    }

    #[test]
    fn a_live_interval_is_between_a_second_and_an_hour() {
        assert_eq!(live_interval_problem(LIVE_INTERVAL_DEFAULT_SECONDS), None);
        assert_eq!(live_interval_problem(1.0), None);
        assert_eq!(
            live_interval_problem(0.5).as_deref(),
            Some("must be between 1 and 3600 seconds, got 0.5")
        );
        assert!(live_interval_problem(f64::INFINITY).is_some());
    }
}
