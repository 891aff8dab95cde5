//! The job itself: sources, join, window and sink writing plausible ROAS, and a resubmitted
//! job resuming from its group's committed offsets.

use super::*;

#[test]
fn the_job_runs_as_sources_join_window_sink_and_writes_plausible_roas() {
    let (_turn, bed) = pipeline();
    let vs = vertices(bed);
    assert!(vs.len() >= 5, "sources, join, aggregate, sink: {vs:?}");
    for v in &vs {
        assert_eq!(v.status, "RUNNING", "{}", v.name);
        assert_eq!(v.parallelism, 2, "{}", v.name);
    }
    let impressions = vertex(&vs, &format!("{SOURCE}impressions"));
    let clicks = vertex(&vs, &format!("{SOURCE}clicks"));
    let conversions = vertex(&vs, &format!("{SOURCE}conversions"));
    let join = vertex(&vs, "IntervalJoin");
    let local = vertex(&vs, "LocalWindowAggregate");
    let sink = vertex(&vs, "Sink: roas_sink");
    assert!(
        sink.name.contains("GlobalWindowAggregate"),
        "the sink is chained to the window: {}",
        sink.name
    );
    let ids = |v: &Vertex| -> Vec<String> { v.inputs.iter().map(|(id, _)| id.clone()).collect() };
    assert!(impressions.inputs.is_empty() && clicks.inputs.is_empty());
    let mut join_inputs = ids(join);
    join_inputs.sort();
    let mut expected = vec![clicks.id.clone(), conversions.id.clone()];
    expected.sort();
    assert_eq!(
        join_inputs, expected,
        "clicks and conversions meet in the join"
    );
    assert!(
        join.inputs.iter().all(|(_, ship)| ship == "HASH"),
        "{join:?}"
    );
    let mut local_inputs = ids(local);
    local_inputs.sort();
    let mut expected = vec![impressions.id.clone(), join.id.clone()];
    expected.sort();
    assert_eq!(
        local_inputs, expected,
        "spend and attributed revenue are unioned"
    );
    assert_eq!(sink.inputs, vec![(local.id.clone(), "HASH".to_string())]);

    // Rows for most campaigns, with attributed revenue somewhere.
    let rows = poll(
        "rows with revenue for 4 campaigns",
        Duration::from_secs(90),
        || {
            let rows = bed.rows();
            let campaigns: std::collections::BTreeSet<&str> =
                rows.iter().map(|r| r.campaign_id.as_str()).collect();
            // Fresh too: an earlier test may have stopped the generator, and the job's windows
            // close again only once new events move its watermark.
            let newest = rows.iter().map(|r| r.window_end).fold(0.0, f64::max);
            let age = now_epoch() - newest;
            if campaigns.len() >= 4 && rows.iter().any(|r| r.conversions > 0) && age < 45.0 {
                Ok(rows)
            } else {
                Err(format!(
                    "{} rows, campaigns {campaigns:?}, newest window closed {age:.0} s ago",
                    rows.len()
                ))
            }
        },
    );
    let prices: BTreeMap<String, Campaign> = roas::campaigns()
        .into_iter()
        .map(|c| (c.campaign_id.clone(), c))
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
    for r in &rows {
        let c = prices
            .get(&r.campaign_id)
            .unwrap_or_else(|| panic!("a campaign the generator does not have: {r:?}"));
        assert_eq!(r.window_end - r.window_start, 10.0, "10 s windows: {r:?}");
        assert_eq!(r.window_start % 10.0, 0.0, "aligned windows: {r:?}");
        let spend = r.impressions as f64 * c.impression_cost + r.clicks as f64 * c.click_cost;
        assert!(
            close(r.spend, spend),
            "spend = impressions and clicks at list price: {r:?}"
        );
        let revenue = r.conversions as f64 * c.revenue;
        assert!(
            close(r.revenue, revenue),
            "revenue = conversions x price: {r:?}"
        );
        assert!(
            r.conversions <= r.clicks,
            "conversions are attributed to clicks: {r:?}"
        );
        match r.roas {
            Some(roas) => {
                assert!(
                    close(roas, r.revenue / r.spend),
                    "roas = revenue / spend: {r:?}"
                );
                assert!((0.0..100.0).contains(&roas), "a plausible ROAS: {r:?}");
            }
            None => assert_eq!(r.spend, 0.0, "ROAS is NULL only without spend: {r:?}"),
        }
    }
    // The generator clicks ~13 % of impressions and converts ~16 % of clicks: the join neither
    // drops nor repeats clicks.
    let sum = |f: fn(&RoasRow) -> i64| rows.iter().map(f).sum::<i64>() as f64;
    let (imps, clicks, convs) = (
        sum(|r| r.impressions),
        sum(|r| r.clicks),
        sum(|r| r.conversions),
    );
    assert!(imps > 500.0, "{imps} impressions");
    assert!(
        (0.08..0.20).contains(&(clicks / imps)),
        "click rate {clicks}/{imps}"
    );
    assert!(
        (0.05..0.35).contains(&(convs / clicks)),
        "conversion rate {convs}/{clicks}"
    );
}

#[test]
fn a_resubmitted_job_resumes_from_the_groups_committed_offsets() {
    let (_turn, bed) = pipeline();
    let flink = bed.flink();
    bed.stop_generator();
    let end = bed.end_offsets();
    // The job catches up and a checkpoint commits the log end for every partition.
    poll(
        "the group committed at the log end",
        Duration::from_secs(90),
        || {
            let committed = bed.committed_offsets();
            let behind: Vec<_> = end
                .iter()
                .filter(|(tp, e)| **e > 0 && committed.get(*tp).copied().flatten() != Some(**e))
                .collect();
            behind
                .is_empty()
                .then_some(())
                .ok_or(format!("{} partitions behind: {behind:?}", behind.len()))
        },
    );
    let before = bed.committed_offsets();
    let old = bed.job_id();
    let new = bed.resubmit_job();
    assert_ne!(new, old);
    assert_eq!(flink.state_of(&old).as_deref(), Some("CANCELED"));

    // Nothing new in the topics yet: the new job's first checkpoint commits the same offsets.
    poll(
        "the new job's first checkpoint",
        Duration::from_secs(60),
        || {
            let c = flink.checkpoints(&new)?;
            (c.completed > 0).then_some(()).ok_or(format!("{c:?}"))
        },
    );
    let after = bed.committed_offsets();
    for (tp, at) in &before {
        assert!(
            after.get(tp).copied().flatten() >= *at,
            "{tp:?}: committed {at:?} before, {:?} after: the group never moves back",
            after.get(tp)
        );
    }

    // What the new job's sources emit is bounded by what was produced after the restart.
    let e0 = total(&end);
    bed.start_generator();
    let emitted = poll(
        "the new job's sources reading",
        Duration::from_secs(60),
        || {
            let sources: i64 = vertices(bed)
                .iter()
                .filter(|v| v.name.starts_with(SOURCE))
                .map(|v| v.write_records)
                .sum();
            (sources > 0).then_some(sources).ok_or("0 records".into())
        },
    );
    let e1 = total(&bed.end_offsets());
    assert!(
        e1 - e0 < e0,
        "the check needs less new data ({}) than old ({e0})",
        e1 - e0
    );
    assert!(
        emitted <= e1 - e0,
        "the new job emitted {emitted} records, more than the {} produced since it started: \
         it re-read old ones (from earliest instead of the group's offsets)",
        e1 - e0
    );
    poll("rows from the new job", Duration::from_secs(90), || {
        let w = latest_window_end(bed);
        (w > now_epoch() - 30.0)
            .then_some(())
            .ok_or(format!("newest window {w}"))
    });
}
