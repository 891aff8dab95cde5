//! The root cause of a pipeline's trouble, named once over the whole graph: which node(s) the
//! trouble comes from, in a sentence the on-call engineer reads, and which unhealthy nodes are
//! only its victims.
//!
//! A verdict is a symptom or a cause depending on what else is wrong, so the causes are tried
//! in the order in which one explains the next: a job that does not run explains its group's
//! lag; offline partitions explain a stuck source; a bottleneck (a slow operator or a blocked
//! sink) explains the backpressure above it and the lag above that; a stalled watermark or an
//! overdue checkpoint comes next; under-replicated partitions (still readable) after that; a
//! lagging group is its own cause only when nothing in Flink explains it; a side that could
//! not be asked, and input that stopped (a warning, never an alarm), come last.

use std::collections::{HashSet, VecDeque};

use crate::{Health, Node, NodeKind, ReasonCode, Topology};

#[derive(Debug, Clone, PartialEq)]
pub struct RootCause {
    /// What kind of cause it is.
    pub code: ReasonCode,
    pub health: Health,
    /// Ids of the nodes named as the cause, the main one first (a blocked sink, then its
    /// database; every topic with offline partitions; every vertex of a stopped job).
    pub nodes: Vec<String>,
    /// Ids of the unhealthy nodes connected to the cause: what it makes suffer.
    pub victims: Vec<String>,
    /// What the on-call engineer reads first.
    pub sentence: String,
}

/// Causes, the ones that explain others first.
const PRECEDENCE: [ReasonCode; 19] = [
    ReasonCode::JobNotRunning,
    ReasonCode::JobRestarting,
    ReasonCode::PartitionsOffline,
    ReasonCode::SinkBlocked,
    ReasonCode::Bottleneck,
    ReasonCode::WatermarkStalled,
    ReasonCode::CheckpointOverdue,
    ReasonCode::CheckpointsFailing,
    ReasonCode::PartitionsUnderReplicated,
    ReasonCode::GroupNoConsumer,
    ReasonCode::GroupStatus,
    ReasonCode::GroupLag,
    ReasonCode::GroupLagGrowing,
    ReasonCode::GroupBehindHead,
    ReasonCode::GroupRebalancing,
    ReasonCode::GroupUncommittedPartitions,
    ReasonCode::Unreachable,
    ReasonCode::GroupUnreadable,
    ReasonCode::InputIdle,
];

/// Codes whose cause is a whole job: named by the job, on all of its vertices.
const JOB_WIDE: [ReasonCode; 2] = [ReasonCode::JobNotRunning, ReasonCode::JobRestarting];

/// The root cause of what is wrong, or `None` when every node is healthy.
pub fn find(t: &Topology) -> Option<RootCause> {
    let unhealthy = |n: &&Node| n.health != Health::Ok;
    let (code, main) = PRECEDENCE.iter().find_map(|&code| {
        let mut with: Vec<&Node> = t
            .nodes
            .iter()
            .filter(unhealthy)
            .filter(|n| n.has(code))
            .collect();
        // A job's cause reads best on its source, where its input stops.
        with.sort_by_key(|n| n.kind != NodeKind::FlinkSource);
        with.first().map(|n| (code, *n))
    })?;
    let nodes = cause_nodes(t, code, main);
    let victims = victims_of(t, &nodes);
    let subject = if JOB_WIDE.contains(&code) {
        String::new()
    } else if code == ReasonCode::SinkBlocked {
        format!("{}: ", shown_name(main))
    } else {
        // Every node of the cause ("clicks, conversions, impressions: …"); the reason is the
        // main one's.
        let titles: Vec<String> = nodes
            .iter()
            .filter_map(|id| t.node(id))
            .map(shown_name)
            .collect();
        format!("{}: ", titles.join(", "))
    };
    let mut sentence = format!("{subject}{}", main.reason);
    if !victims.is_empty() {
        let names: Vec<String> = victims
            .iter()
            .filter_map(|id| t.node(id))
            .filter(|n| !(JOB_WIDE.contains(&code) && n.job == main.job))
            .map(|n| format!("{} {}", kind_word(n.kind), shown_name(n)))
            .collect();
        if !names.is_empty() {
            sentence = format!("{sentence}; affects {}", names.join(", "));
        }
    }
    Some(RootCause {
        code,
        health: main.health,
        nodes,
        victims,
        sentence,
    })
}

fn cause_nodes(t: &Topology, code: ReasonCode, main: &Node) -> Vec<String> {
    let mut ids = vec![main.id.clone()];
    let same = |n: &&Node| n.id != main.id && n.health != Health::Ok && n.has(code);
    match code {
        // A job-wide cause is on every vertex of that job.
        c if JOB_WIDE.contains(&c) => ids.extend(
            t.nodes
                .iter()
                .filter(same)
                .filter(|n| n.job == main.job)
                .map(|n| n.id.clone()),
        ),
        // A blocked sink and the database it cannot write to.
        ReasonCode::SinkBlocked => ids.extend(
            t.downstream(&main.id)
                .filter_map(|id| t.node(id))
                .filter(|n| n.kind == NodeKind::Database)
                .map(|n| n.id.clone()),
        ),
        // One bottleneck per job, and one stall where it starts: the main one is the cause.
        ReasonCode::Bottleneck | ReasonCode::WatermarkStalled => {}
        // Every topic with offline partitions, every overdue sink, every lagging group.
        _ => ids.extend(t.nodes.iter().filter(same).map(|n| n.id.clone())),
    }
    ids
}

/// Unhealthy nodes reachable from the cause along edges in either direction.
fn victims_of(t: &Topology, cause: &[String]) -> Vec<String> {
    let mut seen: HashSet<&str> = cause.iter().map(String::as_str).collect();
    let mut queue: VecDeque<&str> = cause.iter().map(String::as_str).collect();
    let mut victims = Vec::new();
    while let Some(id) = queue.pop_front() {
        for next in t.downstream(id).chain(t.upstream(id)) {
            if !seen.insert(next) {
                continue;
            }
            queue.push_back(next);
            if t.node(next).is_some_and(|n| n.health != Health::Ok) {
                victims.push(next.to_string());
            }
        }
    }
    victims
}

/// A node as the sentence names it: a Flink vertex by its short name (`Source: clicks`, not
/// its catalog path and operator ids), anything else by its title.
fn shown_name(n: &Node) -> String {
    crate::vertex_name::shown(Some(n.kind), &n.title)
}

fn kind_word(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::KafkaTopic => "topic",
        NodeKind::ConsumerGroup => "group",
        NodeKind::FlinkSource | NodeKind::FlinkOperator | NodeKind::FlinkSink => "vertex",
        NodeKind::Database => "database",
    }
}

/// The root cause of each pipeline of the graph (each set of connected nodes: two jobs that
/// share nothing are two pipelines, each with its own cause), the most pressing first.
pub fn find_all(t: &Topology) -> Vec<RootCause> {
    let mut causes: Vec<RootCause> = components(t)
        .into_iter()
        .filter_map(|ids| {
            let part = Topology {
                nodes: t
                    .nodes
                    .iter()
                    .filter(|n| ids.contains(n.id.as_str()))
                    .cloned()
                    .collect(),
                edges: t
                    .edges
                    .iter()
                    .filter(|e| ids.contains(e.source.as_str()))
                    .cloned()
                    .collect(),
                root_causes: Vec::new(),
            };
            find(&part)
        })
        .collect();
    let rank = |c: &RootCause| PRECEDENCE.iter().position(|p| *p == c.code);
    causes.sort_by_key(|c| (rank(c), std::cmp::Reverse(c.health)));
    causes
}

/// Node ids grouped by connectedness (edges in either direction), in node order.
fn components(t: &Topology) -> Vec<HashSet<&str>> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut parts = Vec::new();
    for start in &t.nodes {
        if !seen.insert(start.id.as_str()) {
            continue;
        }
        let mut part: HashSet<&str> = HashSet::from([start.id.as_str()]);
        let mut queue: VecDeque<&str> = VecDeque::from([start.id.as_str()]);
        while let Some(id) = queue.pop_front() {
            for next in t.downstream(id).chain(t.upstream(id)) {
                if seen.insert(next) {
                    part.insert(next);
                    queue.push_back(next);
                }
            }
        }
        parts.push(part);
    }
    parts
}

/// Mark the root causes on the graph: their nodes as `bottleneck`, their victims as `victim`.
pub fn mark(t: &mut Topology) {
    let causes = find_all(t);
    for n in &mut t.nodes {
        n.bottleneck = causes.iter().any(|c| c.nodes.contains(&n.id));
        n.victim = causes.iter().any(|c| c.victims.contains(&n.id));
    }
    t.root_causes = causes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Verdict;
    use crate::Edge;

    fn node(id: &str, kind: NodeKind, job: &str, v: Verdict) -> Node {
        let mut n = Node::new(id, id, kind);
        n.job = job.into();
        n.judged(v);
        n
    }

    fn ok(id: &str, kind: NodeKind) -> Node {
        node(id, kind, "", Verdict::ok("fine"))
    }

    fn bad(code: ReasonCode, health: Health, reason: &str) -> Verdict {
        Verdict::new(health, code, reason)
    }

    /// topic -> group -> src -> win -> sink -> db
    fn pipeline(nodes: [Node; 6]) -> Topology {
        let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
        let edges = ids
            .windows(2)
            .map(|w| Edge::new(&w[0], &w[1], ""))
            .collect();
        let mut t = Topology {
            nodes: nodes.into(),
            edges,
            root_causes: Vec::new(),
        };
        mark(&mut t);
        t
    }

    /// The job's window operator, busy while its input waits.
    fn slow_window() -> Node {
        let why = bad(
            ReasonCode::Bottleneck,
            Health::Critical,
            "bottleneck: busy 99 %",
        );
        node("win", NodeKind::FlinkOperator, "roas", why)
    }

    fn lagging_group() -> Node {
        node(
            "group",
            NodeKind::ConsumerGroup,
            "",
            bad(ReasonCode::GroupLag, Health::Critical, "lag 90000 messages"),
        )
    }

    #[test]
    fn a_healthy_pipeline_has_no_root_cause() {
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            ok("group", NodeKind::ConsumerGroup),
            ok("src", NodeKind::FlinkSource),
            ok("win", NodeKind::FlinkOperator),
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        assert_eq!(t.root_cause(), None);
        assert!(t.nodes.iter().all(|n| !n.bottleneck && !n.victim));
    }

    #[test]
    fn a_slow_operator_explains_the_backpressure_and_the_lag() {
        let waiting = bad(ReasonCode::Backpressured, Health::Critical, "backpressured");
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            lagging_group(),
            node("src", NodeKind::FlinkSource, "roas", waiting),
            slow_window(),
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        let c = t.root_cause().cloned().expect("a cause");
        assert_eq!(
            (c.code, c.nodes.clone()),
            (ReasonCode::Bottleneck, vec!["win".into()])
        );
        assert_eq!(c.victims, vec!["src".to_string(), "group".to_string()]);
        assert_eq!(
            c.sentence,
            "win: bottleneck: busy 99 %; affects vertex src, group group"
        );
        assert!(t.node("win").unwrap().bottleneck && t.node("group").unwrap().victim);
    }

    #[test]
    fn the_sentence_names_flink_sql_vertices_by_their_short_names() {
        let mut slow = slow_window();
        slow.title = "IntervalJoin[9] -> Calc[10]".into();
        let mut src = node(
            "src",
            NodeKind::FlinkSource,
            "roas",
            bad(ReasonCode::Backpressured, Health::Critical, "backpressured"),
        );
        src.title = "Source: KafkaSource-default_catalog.default_database.clicks -> Calc[4]".into();
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            ok("group", NodeKind::ConsumerGroup),
            src,
            slow,
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        assert_eq!(
            t.root_cause().expect("a cause").sentence,
            "IntervalJoin: bottleneck: busy 99 %; affects vertex Source: clicks"
        );
    }

    #[test]
    fn a_blocked_sink_names_its_database_too() {
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            ok("group", NodeKind::ConsumerGroup),
            ok("src", NodeKind::FlinkSource),
            node(
                "win",
                NodeKind::FlinkOperator,
                "roas",
                bad(ReasonCode::Backpressured, Health::Critical, "backpressured"),
            ),
            node("sink", NodeKind::FlinkSink, "roas", {
                let mut v = bad(ReasonCode::Bottleneck, Health::Critical, "bottleneck");
                v.codes.push(ReasonCode::SinkBlocked);
                v
            }),
            node(
                "db",
                NodeKind::Database,
                "",
                bad(
                    ReasonCode::DatabaseNotAccepting,
                    Health::Critical,
                    "no writes",
                ),
            ),
        ]);
        let c = t.root_cause().cloned().unwrap();
        assert_eq!(c.code, ReasonCode::SinkBlocked);
        assert_eq!(c.nodes, vec!["sink".to_string(), "db".to_string()]);
        assert_eq!(c.victims, vec!["win".to_string()]);
    }

    #[test]
    fn a_stopped_job_is_named_by_the_job_and_its_group_is_a_victim() {
        let stopped = || {
            bad(
                ReasonCode::JobNotRunning,
                Health::Critical,
                "job roas is CANCELED",
            )
        };
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            lagging_group(),
            node("src", NodeKind::FlinkSource, "roas", stopped()),
            node("win", NodeKind::FlinkOperator, "roas", stopped()),
            node("sink", NodeKind::FlinkSink, "roas", stopped()),
            ok("db", NodeKind::Database),
        ]);
        let c = t.root_cause().cloned().unwrap();
        assert_eq!(c.code, ReasonCode::JobNotRunning);
        assert_eq!(c.nodes, vec!["src", "win", "sink"]);
        assert_eq!(c.sentence, "job roas is CANCELED; affects group group");
    }

    #[test]
    fn offline_partitions_come_before_the_lag_they_cause() {
        let offline = || bad(ReasonCode::PartitionsOffline, Health::Critical, "2 offline");
        let t = pipeline([
            node("topic", NodeKind::KafkaTopic, "", offline()),
            lagging_group(),
            ok("src", NodeKind::FlinkSource),
            ok("win", NodeKind::FlinkOperator),
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        let c = t.root_cause().cloned().unwrap();
        assert_eq!(
            (c.code, c.nodes),
            (ReasonCode::PartitionsOffline, vec!["topic".into()])
        );
    }

    #[test]
    fn a_lagging_group_with_nothing_behind_it_is_its_own_cause() {
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            lagging_group(),
            ok("src", NodeKind::FlinkSource),
            ok("win", NodeKind::FlinkOperator),
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        assert_eq!(t.root_cause().cloned().unwrap().code, ReasonCode::GroupLag);
    }

    #[test]
    fn idle_input_is_named_as_a_warning_only() {
        let t = pipeline([
            ok("topic", NodeKind::KafkaTopic),
            ok("group", NodeKind::ConsumerGroup),
            ok("src", NodeKind::FlinkSource),
            node(
                "win",
                NodeKind::FlinkOperator,
                "roas",
                bad(
                    ReasonCode::InputIdle,
                    Health::Warning,
                    "no records arriving",
                ),
            ),
            ok("sink", NodeKind::FlinkSink),
            ok("db", NodeKind::Database),
        ]);
        let c = t.root_cause().cloned().unwrap();
        assert_eq!((c.code, c.health), (ReasonCode::InputIdle, Health::Warning));
        assert!(c.victims.is_empty());
    }
}

#[cfg(test)]
mod pipelines {
    use super::*;
    use crate::rules::Verdict;
    use crate::Edge;

    #[test]
    fn two_pipelines_each_get_their_own_cause_the_worse_first() {
        let node = |id: &str, code: ReasonCode, health: Health| {
            let mut n = Node::new(id, id, NodeKind::FlinkOperator);
            n.judged(Verdict::new(health, code, id));
            n
        };
        let mut t = Topology {
            nodes: vec![
                node("a1", ReasonCode::Backpressured, Health::Critical),
                node("a2", ReasonCode::Bottleneck, Health::Critical),
                node("b1", ReasonCode::WatermarkStalled, Health::Critical),
                node("b2", ReasonCode::Healthy, Health::Ok),
            ],
            edges: vec![Edge::new("a1", "a2", ""), Edge::new("b1", "b2", "")],
            root_causes: Vec::new(),
        };
        mark(&mut t);
        let named: Vec<&str> = t.root_causes.iter().map(|c| c.nodes[0].as_str()).collect();
        assert_eq!(named, ["a2", "b1"]);
        assert!(t.node("a2").unwrap().bottleneck && t.node("b1").unwrap().bottleneck);
        assert!(t.node("a1").unwrap().victim && !t.node("b2").unwrap().victim);
    }
}
