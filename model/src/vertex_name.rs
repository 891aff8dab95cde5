//! A Flink vertex's name, shortened for a card. Flink names a chained vertex by all its
//! operators, and Flink SQL adds catalog paths and operator ids:
//! `Source: KafkaSource-default_catalog.default_database.clicks -> Calc[4]`. Every source of
//! one job then starts alike, and a card cut at its width shows the same text on each. The
//! short name keeps what tells vertices apart (`Source: clicks`); the full name stays the
//! node's title (alert labels, tooltips).

use crate::NodeKind;

/// A node's name where room is short (a card, the root-cause sentence): a Flink vertex by its
/// [`short`] name, anything else by its title as it is.
pub fn shown(kind: Option<NodeKind>, title: &str) -> String {
    if kind.is_some_and(NodeKind::is_flink_vertex) {
        short(title)
    } else {
        title.to_string()
    }
}

/// Operators that only reshape rows between the ones a user wrote: dropped from a chain's
/// short name unless nothing else is left.
const PLUMBING: &[&str] = &[
    "Calc",
    "ConstraintEnforcer",
    "WatermarkAssigner",
    "DropUpdateBefore",
    "StreamRecordTimestampInserter",
];

/// `Source: KafkaSource-default_catalog.default_database.clicks -> Calc[4]` -> `Source: clicks`.
pub fn short(name: &str) -> String {
    let parts: Vec<String> = name.split(" -> ").map(short_operator).collect();
    let kept: Vec<&String> = parts
        .iter()
        .filter(|p| !PLUMBING.contains(&p.as_str()))
        .collect();
    if kept.is_empty() {
        parts.join(" → ")
    } else {
        kept.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// One operator: its `[id]` suffix dropped, a source's or sink's table without its catalog path.
fn short_operator(op: &str) -> String {
    let op = strip_id(op.trim());
    for prefix in ["Source: ", "Sink: "] {
        if let Some(rest) = op.strip_prefix(prefix) {
            return format!("{prefix}{}", table(rest));
        }
    }
    op.to_string()
}

/// `Calc[4]` -> `Calc`; names whose brackets are not an id stay whole.
fn strip_id(op: &str) -> &str {
    match op.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
        Some((head, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => op,
    }
}

/// `KafkaSource-default_catalog.default_database.clicks` -> `clicks`; other names stay.
fn table(source: &str) -> &str {
    let connector_path = source
        .split_once('-')
        .filter(|(connector, path)| {
            (connector.ends_with("Source") || connector.ends_with("Sink")) && path.contains('.')
        })
        .map(|(_, path)| path);
    match connector_path {
        Some(path) => path.rsplit('.').next().unwrap_or(path),
        None => source,
    }
}

#[cfg(test)]
mod tests {
    use super::{short, shown};
    use crate::NodeKind;

    #[test]
    fn only_flink_vertices_are_shortened() {
        let chain = "IntervalJoin[9] -> Calc[10]";
        assert_eq!(shown(Some(NodeKind::FlinkOperator), chain), "IntervalJoin");
        assert_eq!(shown(Some(NodeKind::KafkaTopic), "a -> b"), "a -> b");
        assert_eq!(shown(None, chain), chain);
    }

    #[test]
    fn flink_sql_chains_keep_the_operators_a_user_wrote() {
        let cases = [
            (
                "Source: KafkaSource-default_catalog.default_database.clicks -> Calc[4]",
                "Source: clicks",
            ),
            ("IntervalJoin[9] -> Calc[10]", "IntervalJoin"),
            ("Calc[12] -> LocalWindowAggregate[13]", "LocalWindowAggregate"),
            (
                "GlobalWindowAggregate[15] -> Calc[16] -> ConstraintEnforcer[17] -> Sink: roas_sink[17]",
                "GlobalWindowAggregate → Sink: roas_sink",
            ),
            // Only plumbing: kept, so the card is never empty.
            ("Calc[3]", "Calc"),
        ];
        for (name, want) in cases {
            assert_eq!(short(name), want, "{name}");
        }
    }

    #[test]
    fn datastream_names_stay_as_written() {
        for name in [
            "Source: orders",
            "Source: Custom Source -> Map",
            "Flat Map -> Sink: Print to Std. Out",
            "Window(TumblingEventTimeWindows(10000), EventTimeTrigger, Reduce)",
            "Sink: Writer [list]",
        ] {
            assert_eq!(short(name), name.replace(" -> ", " → "), "{name}");
        }
    }
}
