//! The timeouts a user may set: the datasource's `queryTimeoutSeconds` and a query's own
//! `timeoutSeconds`, checked by the same rule in the backend and in both editors.

/// At least 100 ms, so that a slip such as `1e-300` is refused instead of timing every call out
/// at once; at most five minutes, past any dashboard refresh.
pub const TIMEOUT_SECONDS: (f64, f64) = (0.1, 300.0);

/// Why `seconds` is not a timeout the datasource accepts, or `None` when it is.
pub fn timeout_problem(seconds: f64) -> Option<String> {
    let (min, max) = TIMEOUT_SECONDS;
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
}
