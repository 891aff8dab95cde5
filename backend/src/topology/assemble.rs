//! Joining Kafka and Flink into one pipeline graph, with a verdict per node and the root cause.
//!
//! Links come from the pipeline description where it says so, else they are discovered: a Flink
//! source whose name mentions a topic reads it, and a consumer group that commits offsets for
//! that topic (named like the job, or the only one) is the job's group.

use std::collections::{BTreeMap, HashSet};

use pipeline_model::rules::{self, Verdict};
use pipeline_model::{bottleneck, Edge, Health, Node, NodeKind, Stat, Thresholds, Topology};

use super::description::{JobLink, PipelineDescription};
use super::facts::{
    ConsumerGroupFacts, FlinkFacts, FlinkVertexFacts, JobFacts, KafkaFacts, TopicFacts,
};

pub fn topic_id(name: &str) -> String {
    format!("kafka/topic/{name}")
}

pub fn group_id(name: &str) -> String {
    format!("kafka/group/{name}")
}

pub fn vertex_id(job: &str, vertex: &str) -> String {
    format!("flink/{job}/{vertex}")
}

fn database_id(name: &str) -> String {
    format!("db/{name}")
}

/// Build the pipeline graph from one refresh's facts.
pub fn assemble(
    desc: &PipelineDescription,
    kafka: &KafkaFacts,
    flink: &FlinkFacts,
    t: &Thresholds,
) -> Topology {
    let mut graph = Graph::default();
    if let Some(reason) = &flink.unreachable {
        let mut node = Node::new("flink", "Flink", NodeKind::FlinkOperator);
        node.subtitle = "unreachable".into();
        set_verdict(&mut node, Verdict::unknown(reason.clone()));
        graph.add(node);
    }
    for job in &flink.jobs {
        add_job(&mut graph, job, t);
        let link = desc.for_job(&job.id, &job.name);
        link_kafka(&mut graph, job, link, kafka, t);
        link_sinks(&mut graph, job, link);
    }
    // Without Flink jobs the Kafka side is still worth drawing: every group with its topics.
    if flink.jobs.is_empty() {
        for group in &kafka.groups {
            for topic in &group.topics {
                let topic_node = topic_node(topic, kafka, t);
                let tid = topic_node.id.clone();
                graph.add(topic_node);
                let gid = add_group(&mut graph, group, t);
                graph.connect(&tid, &gid, String::new());
            }
        }
        if let Some(reason) = &kafka.unreachable {
            let mut node = Node::new("kafka", "Kafka", NodeKind::KafkaTopic);
            node.subtitle = "unreachable".into();
            set_verdict(&mut node, Verdict::unknown(reason.clone()));
            graph.add(node);
            if flink.unreachable.is_some() {
                graph.connect("kafka", "flink", String::new());
            }
        }
    }
    graph.topology
}

#[derive(Default)]
struct Graph {
    topology: Topology,
    ids: HashSet<String>,
    edge_ids: HashSet<String>,
}

impl Graph {
    fn add(&mut self, node: Node) {
        if self.ids.insert(node.id.clone()) {
            self.topology.nodes.push(node);
        }
    }

    fn connect(&mut self, source: &str, target: &str, label: String) {
        let edge = Edge::new(source, target, label);
        if self.edge_ids.insert(edge.id.clone()) {
            self.topology.edges.push(edge);
        }
    }

    fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.topology.nodes.iter_mut().find(|n| n.id == id)
    }
}

fn set_verdict(node: &mut Node, v: Verdict) {
    node.health = v.health;
    node.reason = v.reason;
}

fn vertex_kind(name: &str) -> NodeKind {
    if name.starts_with("Source:") {
        NodeKind::FlinkSource
    } else if name.contains("Sink:") || name.contains("Writer") {
        NodeKind::FlinkSink
    } else {
        NodeKind::FlinkOperator
    }
}

fn vertex_stats(v: &FlinkVertexFacts) -> Vec<Stat> {
    let f = &v.facts;
    let mut stats = vec![Stat::new("parallelism", v.parallelism as f64, "short")];
    let optional = [
        ("backpressure", f.backpressure, "percentunit"),
        ("busy", f.busy, "percentunit"),
        ("watermark lag", f.watermark_lag_seconds, "s"),
        ("watermark stalled", f.watermark_stalled_seconds, "s"),
        ("records in", v.records_in_per_second, "reqps"),
        ("records out", v.records_out_per_second, "reqps"),
    ];
    stats.extend(
        optional
            .into_iter()
            .filter_map(|(n, val, unit)| val.map(|x| Stat::new(n, x, unit))),
    );
    stats
}

fn add_job(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let running = job.state == "RUNNING";
    for v in &job.vertices {
        let mut node = Node::new(
            vertex_id(&job.id, &v.id),
            v.name.clone(),
            vertex_kind(&v.name),
        );
        node.subtitle = job.name.clone();
        node.stats = vertex_stats(v);
        let verdict = if running {
            rules::vertex(&v.facts, t)
        } else {
            Verdict::new(
                Health::Critical,
                format!("job {} is {}", job.name, job.state),
            )
        };
        set_verdict(&mut node, verdict);
        graph.add(node);
    }
    for (up, down, strategy) in &job.edges {
        graph.connect(
            &vertex_id(&job.id, up),
            &vertex_id(&job.id, down),
            strategy.clone(),
        );
    }
    if !running {
        return;
    }
    inherit_stalled_watermarks(graph, job);
    judge_checkpoints(graph, job, t);
    name_bottleneck(graph, job, t);
    if let Some(partial) = &job.partial {
        for v in &job.vertices {
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                if node.health == Health::Ok {
                    node.reason = format!("{}; partial data: {partial}", node.reason);
                }
            }
        }
    }
}

/// A stalled watermark is reported where it starts; downstream vertices only inherit it.
fn inherit_stalled_watermarks(graph: &mut Graph, job: &JobFacts) {
    let stalled: HashSet<&str> = job
        .vertices
        .iter()
        .filter(|v| v.facts.watermark_stalled_seconds.is_some())
        .map(|v| v.id.as_str())
        .collect();
    for v in &job.vertices {
        let upstream_stalled = job
            .edges
            .iter()
            .find(|(up, down, _)| down == &v.id && stalled.contains(up.as_str()));
        if let (true, Some((up, _, _))) = (stalled.contains(v.id.as_str()), upstream_stalled) {
            let origin = job
                .vertices
                .iter()
                .find(|x| &x.id == up)
                .map(|x| x.name.as_str())
                .unwrap_or(up);
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                if node.health == Health::Critical
                    && node.reason.contains("watermark has not advanced")
                {
                    node.health = Health::Warning;
                    node.reason = format!("watermark held back upstream by {origin}");
                }
            }
        }
    }
}

/// Checkpoints complete when the sinks commit, so an overdue checkpoint is shown on the sinks
/// (or on the job's last vertices when no sink is recognised).
fn judge_checkpoints(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let verdict = rules::checkpoints(
        job.checkpoint_age_seconds,
        job.checkpoints_failed_since_completed,
        t,
    );
    let mut sinks: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSink)
        .collect();
    if sinks.is_empty() {
        sinks = job
            .vertices
            .iter()
            .filter(|v| !job.edges.iter().any(|(up, _, _)| up == &v.id))
            .collect();
    }
    for sink in sinks {
        if let Some(node) = graph.node_mut(&vertex_id(&job.id, &sink.id)) {
            if let Some(age) = job.checkpoint_age_seconds {
                node.stats.push(Stat::new("checkpoint age", age, "s"));
            }
            let combined = Verdict::worst(
                [
                    Verdict::new(node.health, node.reason.clone()),
                    verdict.clone(),
                ]
                .into_iter()
                .filter(|v| {
                    v.health != Health::Unknown || v.reason != "no checkpoint completed yet"
                }),
                &node.reason,
            );
            set_verdict(node, combined);
        }
    }
}

fn name_bottleneck(graph: &mut Graph, job: &JobFacts, t: &Thresholds) {
    let loads: Vec<bottleneck::Load> = job
        .vertices
        .iter()
        .map(|v| bottleneck::Load {
            id: &v.id,
            backpressure: v.facts.backpressure,
            busy: v.facts.busy,
        })
        .collect();
    let edges: Vec<(&str, &str)> = job
        .edges
        .iter()
        .map(|(a, b, _)| (a.as_str(), b.as_str()))
        .collect();
    let Some(cause) = bottleneck::find(&loads, &edges, t) else {
        return;
    };
    let cause_name = job
        .vertices
        .iter()
        .find(|v| v.id == cause)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let busy = job
        .vertices
        .iter()
        .find(|v| v.id == cause)
        .and_then(|v| v.facts.busy)
        .unwrap_or(0.0);
    if let Some(node) = graph.node_mut(&vertex_id(&job.id, cause)) {
        // Keep what else is wrong with it (an overdue checkpoint, a stalled watermark).
        let own = if node.health > Health::Ok {
            format!("; {}", node.reason)
        } else {
            String::new()
        };
        node.bottleneck = true;
        node.health = node.health.max(Health::Critical);
        node.reason = format!(
            "bottleneck: busy {:.0} % while upstream is backpressured{own}",
            busy * 100.0
        );
    }
    for v in &job.vertices {
        if v.facts
            .backpressure
            .is_some_and(|bp| bp >= t.backpressure_warning)
        {
            if let Some(node) = graph.node_mut(&vertex_id(&job.id, &v.id)) {
                node.reason = format!("{} (waiting on {cause_name})", node.reason);
            }
        }
    }
}

fn topic_node(name: &str, kafka: &KafkaFacts, t: &Thresholds) -> Node {
    let mut node = Node::new(topic_id(name), name, NodeKind::KafkaTopic);
    node.subtitle = "Kafka topic".into();
    let _ = t;
    match kafka.topics.iter().find(|x| x.name == name) {
        Some(TopicFacts {
            partitions,
            under_replicated,
            offline,
            produce_rate,
            ..
        }) => {
            node.stats = vec![
                Stat::new("partitions", *partitions as f64, "short"),
                Stat::new("under-replicated", *under_replicated as f64, "short"),
                Stat::new("offline", *offline as f64, "short"),
            ];
            if let Some(rate) = produce_rate {
                node.stats.push(Stat::new("produce rate", *rate, "reqps"));
            }
            set_verdict(&mut node, rules::topic(*under_replicated, *offline));
        }
        None => {
            let reason = kafka
                .unreachable
                .clone()
                .unwrap_or_else(|| format!("topic {name} not found in Kafka"));
            set_verdict(&mut node, Verdict::unknown(reason));
        }
    }
    node
}

fn add_group(graph: &mut Graph, group: &ConsumerGroupFacts, t: &Thresholds) -> String {
    let mut node = Node::new(
        group_id(&group.name),
        group.name.clone(),
        NodeKind::ConsumerGroup,
    );
    node.subtitle = group
        .facts
        .state
        .clone()
        .unwrap_or_else(|| "consumer group".into());
    let f = &group.facts;
    let optional = [
        ("lag", f.lag, "short"),
        ("time lag", f.time_lag_seconds, "s"),
        ("drain time", group.drain_seconds, "s"),
        ("members", f.members.map(f64::from), "short"),
    ];
    node.stats = optional
        .into_iter()
        .filter_map(|(n, v, u)| v.map(|x| Stat::new(n, x, u)))
        .collect();
    set_verdict(&mut node, rules::consumer_group(f, t));
    let id = node.id.clone();
    graph.add(node);
    id
}

/// Words of a vertex name, for matching topic names ("Source: KafkaSource-clicks" -> clicks).
/// Whether a vertex name mentions a topic as a whole word, or as the end of a word after a `-`
/// or `.`: Flink names a DataStream source `KafkaSource-clicks` and a Flink SQL one
/// `KafkaSource-default_catalog.default_database.clicks`.
fn mentions(vertex_name: &str, topic: &str) -> bool {
    vertex_name
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .any(|w| {
            w == topic
                || w.match_indices(['-', '.'])
                    .any(|(i, _)| &w[i + 1..] == topic)
        })
}

fn link_kafka(
    graph: &mut Graph,
    job: &JobFacts,
    link: Option<&JobLink>,
    kafka: &KafkaFacts,
    t: &Thresholds,
) {
    let sources: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSource)
        .collect();
    // topic -> the source vertices that read it
    let mut reads: BTreeMap<String, Vec<&FlinkVertexFacts>> = BTreeMap::new();
    match link.filter(|l| !l.topics.is_empty()) {
        Some(l) => {
            for topic in &l.topics {
                let readers: Vec<_> = sources
                    .iter()
                    .copied()
                    .filter(|s| mentions(&s.name, topic))
                    .collect();
                reads.insert(
                    topic.clone(),
                    if readers.is_empty() {
                        sources.clone()
                    } else {
                        readers
                    },
                );
            }
        }
        None => {
            for topic in &kafka.topics {
                let readers: Vec<_> = sources
                    .iter()
                    .copied()
                    .filter(|s| mentions(&s.name, &topic.name))
                    .collect();
                if !readers.is_empty() {
                    reads.insert(topic.name.clone(), readers);
                }
            }
        }
    }
    for (topic, readers) in reads {
        let tnode = topic_node(&topic, kafka, t);
        let tid = tnode.id.clone();
        graph.add(tnode);
        let group = match link.and_then(|l| l.group.as_deref()) {
            Some(name) => Some(
                kafka
                    .groups
                    .iter()
                    .find(|g| g.name == name)
                    .cloned()
                    .unwrap_or_else(|| ConsumerGroupFacts {
                        name: name.to_string(),
                        ..Default::default()
                    }),
            ),
            None => discover_group(&topic, job, kafka),
        };
        let upstream = match group {
            Some(g) => {
                let gid = add_group(graph, &g, t);
                if g.topics.is_empty()
                    && kafka.unreachable.is_none()
                    && g.facts.lag.is_none()
                    && g.facts.read_error.is_none()
                {
                    if let Some(node) = graph.node_mut(&gid) {
                        set_verdict(
                            node,
                            Verdict::unknown(format!("group {} has no committed offsets", g.name)),
                        );
                    }
                }
                graph.connect(&tid, &gid, String::new());
                gid
            }
            None => tid,
        };
        for reader in readers {
            graph.connect(&upstream, &vertex_id(&job.id, &reader.id), String::new());
        }
    }
}

fn discover_group(topic: &str, job: &JobFacts, kafka: &KafkaFacts) -> Option<ConsumerGroupFacts> {
    let consumers: Vec<&ConsumerGroupFacts> = kafka
        .groups
        .iter()
        .filter(|g| g.topics.iter().any(|t| t == topic))
        .collect();
    let by_name = consumers
        .iter()
        .find(|g| g.name.contains(&job.name) || job.name.contains(&g.name));
    by_name
        .or(if consumers.len() == 1 {
            consumers.first()
        } else {
            None
        })
        .map(|g| (*g).clone())
}

fn link_sinks(graph: &mut Graph, job: &JobFacts, link: Option<&JobLink>) {
    let sinks: Vec<&FlinkVertexFacts> = job
        .vertices
        .iter()
        .filter(|v| vertex_kind(&v.name) == NodeKind::FlinkSink)
        .collect();
    let described = link.map(|l| l.sinks.as_slice()).unwrap_or(&[]);
    for sink in sinks {
        let target = described
            .iter()
            .find(|s| s.vertex.as_deref().is_none_or(|v| sink.name.contains(v)))
            .map(|s| s.database.clone())
            .unwrap_or_else(|| sink_target_name(&sink.name));
        let mut node = Node::new(database_id(&target), target.clone(), NodeKind::Database);
        node.subtitle = "written by Flink".into();
        if let Some(rate) = sink.records_in_per_second {
            node.stats.push(Stat::new("records in", rate, "reqps"));
        }
        let verdict = if job.state == "RUNNING" {
            Verdict::ok(format!("not observed directly; written by {}", sink.name))
        } else {
            Verdict::unknown(format!("its writer job {} is {}", job.name, job.state))
        };
        set_verdict(&mut node, verdict);
        let did = node.id.clone();
        graph.add(node);
        let label = sink
            .records_in_per_second
            .map(|r| format!("{r:.0} rec/s"))
            .unwrap_or_default();
        graph.connect(&vertex_id(&job.id, &sink.id), &did, label);
    }
}

/// "Sink: orders-db" -> "orders-db"; in a chained vertex the sink is the last part
/// ("slow-score -> orders-db: Writer" -> "orders-db").
fn sink_target_name(vertex_name: &str) -> String {
    let last = vertex_name
        .rsplit("->")
        .next()
        .unwrap_or(vertex_name)
        .trim();
    let part = last.strip_prefix("Sink:").unwrap_or(last).trim();
    part.trim_end_matches(": Writer")
        .trim_end_matches(": Committer")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_model::rules::{GroupFacts, VertexFacts};

    fn vertex(id: &str, name: &str, bp: f64, busy: f64) -> FlinkVertexFacts {
        FlinkVertexFacts {
            id: id.into(),
            name: name.into(),
            parallelism: 2,
            facts: VertexFacts {
                backpressure: Some(bp),
                busy: Some(busy),
                ..Default::default()
            },
            records_in_per_second: Some(100.0),
            records_out_per_second: Some(100.0),
        }
    }

    fn job() -> JobFacts {
        JobFacts {
            id: "j1".into(),
            name: "clickstream".into(),
            state: "RUNNING".into(),
            vertices: vec![
                vertex("v1", "Source: clicks -> Map", 0.9, 0.1),
                vertex("v2", "slow-enrich", 0.0, 0.97),
                vertex("v3", "Sink: orders-db", 0.0, 0.05),
            ],
            edges: vec![
                ("v1".into(), "v2".into(), "REBALANCE".into()),
                ("v2".into(), "v3".into(), "FORWARD".into()),
            ],
            checkpoint_age_seconds: Some(5.0),
            ..Default::default()
        }
    }

    fn kafka() -> KafkaFacts {
        KafkaFacts {
            topics: vec![TopicFacts {
                name: "clicks".into(),
                partitions: 4,
                ..Default::default()
            }],
            groups: vec![ConsumerGroupFacts {
                name: "clickstream-consumer".into(),
                topics: vec!["clicks".into()],
                facts: GroupFacts {
                    lag: Some(12.0),
                    ..Default::default()
                },
                drain_seconds: None,
            }],
            unreachable: None,
        }
    }

    fn flink(job: JobFacts) -> FlinkFacts {
        FlinkFacts {
            jobs: vec![job],
            unreachable: None,
        }
    }

    #[test]
    fn discovers_topic_group_and_database_and_names_the_bottleneck() {
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(job()),
            &Thresholds::default(),
        );
        assert!(t.dangling_edges().is_empty());
        let ids: Vec<&str> = t.nodes.iter().map(|n| n.id.as_str()).collect();
        for id in [
            "kafka/topic/clicks",
            "kafka/group/clickstream-consumer",
            "flink/j1/v1",
            "db/orders-db",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert!(t
            .edges
            .iter()
            .any(|e| e.source == "kafka/group/clickstream-consumer" && e.target == "flink/j1/v1"));
        let cause = t.bottleneck().expect("a bottleneck");
        assert_eq!(cause.title, "slow-enrich");
        assert!(t
            .node("flink/j1/v1")
            .unwrap()
            .reason
            .contains("waiting on slow-enrich"));
        assert_eq!(t.verdict(), Health::Critical);
    }

    #[test]
    fn a_bottleneck_keeps_its_other_reasons() {
        let mut j = job();
        j.vertices[1].facts.watermark_stalled_seconds = Some(900.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        let cause = t.bottleneck().unwrap();
        assert!(
            cause.reason.starts_with("bottleneck") && cause.reason.contains("not advanced"),
            "{}",
            cause.reason
        );
    }

    #[test]
    fn an_old_checkpoint_turns_the_sink_red() {
        let mut j = job();
        j.vertices[0].facts.backpressure = Some(0.0);
        j.checkpoint_age_seconds = Some(3600.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        let sink = t.node("flink/j1/v3").unwrap();
        assert_eq!(sink.health, Health::Critical, "{}", sink.reason);
        assert!(sink.reason.contains("checkpoint"), "{}", sink.reason);
        assert_eq!(t.node("flink/j1/v1").unwrap().health, Health::Ok);
    }

    #[test]
    fn a_stalled_watermark_is_red_where_it_starts() {
        let mut j = job();
        j.vertices[0].facts.backpressure = Some(0.0);
        j.vertices[1].facts.watermark_stalled_seconds = Some(900.0);
        j.vertices[2].facts.watermark_stalled_seconds = Some(900.0);
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &flink(j),
            &Thresholds::default(),
        );
        assert_eq!(t.node("flink/j1/v2").unwrap().health, Health::Critical);
        let sink = t.node("flink/j1/v3").unwrap();
        assert_eq!(sink.health, Health::Warning, "{}", sink.reason);
        assert!(sink.reason.contains("held back upstream by slow-enrich"));
    }

    #[test]
    fn the_description_overrides_discovery() {
        let desc = PipelineDescription::parse(&serde_json::json!({"jobs": [{"job": "clickstream",
            "topics": ["clicks"], "group": "explicit-group",
            "sinks": [{"vertex": "orders", "database": "postgres: orders"}]}]}))
        .unwrap();
        let t = assemble(&desc, &kafka(), &flink(job()), &Thresholds::default());
        let g = t
            .node("kafka/group/explicit-group")
            .expect("described group");
        assert_eq!(g.health, Health::Unknown, "{}", g.reason);
        assert!(t.node("db/postgres: orders").is_some());
    }

    #[test]
    fn an_unreachable_flink_is_one_unknown_node_and_kafka_still_renders() {
        let f = FlinkFacts {
            jobs: vec![],
            unreachable: Some("cannot reach Flink at http://x".into()),
        };
        let t = assemble(
            &PipelineDescription::default(),
            &kafka(),
            &f,
            &Thresholds::default(),
        );
        let node = t.node("flink").unwrap();
        assert_eq!(node.health, Health::Unknown);
        assert!(node.reason.contains("cannot reach Flink"));
        assert!(t.node("kafka/group/clickstream-consumer").is_some());
    }

    #[test]
    fn sink_names_become_database_names() {
        assert_eq!(sink_target_name("Sink: orders-db"), "orders-db");
        assert_eq!(
            sink_target_name("Map -> Sink: jdbc-orders: Writer"),
            "jdbc-orders"
        );
        assert!(mentions("Source: KafkaSource-clicks", "clicks"));
        // Flink SQL's Kafka source, as the bed's ROAS job names it.
        let sql = "Source: KafkaSource-default_catalog.default_database.impressions -> Calc[2]";
        assert!(mentions(sql, "impressions"));
        assert!(mentions(sql, "default_database.impressions"));
        assert!(!mentions(sql, "pressions"));
        assert!(mentions("Source: orders.v1", "orders.v1"));
        assert!(!mentions("Source: clickstream", "clicks"));
    }
}
