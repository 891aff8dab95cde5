//! The Kafka side's JVM tools: Kafka 3.7.1's own command-line tools run as classes of the bed's jar set, and
//! parsers of those tools' text tables (the ground truth the datasource is compared with).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Main classes, as found in the 3.7.1 jars (`unzip -l kafka_2.13-3.7.1.jar`,
/// `kafka-tools-3.7.1.jar`). ConsumerGroupCommand is still the Scala one in 3.7; it moved to
/// `org.apache.kafka.tools.consumer.group` in 3.8.
pub const KAFKA_MAIN: &str = "kafka.Kafka";
pub const ZOOKEEPER_MAIN: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
pub const CONFIG_COMMAND: &str = "kafka.admin.ConfigCommand";
pub const ACL_COMMAND: &str = "kafka.admin.AclCommand";
pub const CONSUMER_GROUP_COMMAND: &str = "kafka.admin.ConsumerGroupCommand";
pub const TOPIC_COMMAND: &str = "org.apache.kafka.tools.TopicCommand";

/// `tests/bed/kafka/<name>`: the config templates of this side of the bed.
pub fn template(name: &str) -> PathBuf {
    super::repo_root().join("tests/bed/kafka").join(name)
}

/// What a tool printed, and whether it exited 0.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    /// Both streams, for messages and for errors the tools print on either.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs one of Kafka's tools (`class` with `args`) in a short-lived JVM: C1 only and the serial
/// collector, which halve the start-up of a JVM that lives two seconds on 2 cores.
pub fn kafka_tool(class: &str, args: &[&str]) -> ToolOutput {
    let out = Command::new("java")
        .args([
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
        ])
        .arg(format!(
            "-Dlog4j.configuration=file:{}",
            template("tools-log4j.properties").display()
        ))
        .arg("-cp")
        .arg(super::jar_set("kafka"))
        .arg(class)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{class}: cannot run java: {e}"));
    ToolOutput {
        success: out.status.success(),
        status: out.status.to_string(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`kafka_tool`], panicking with the tool's output when it fails.
pub fn kafka_tool_ok(class: &str, args: &[&str]) -> String {
    let out = kafka_tool(class, args);
    assert!(
        out.success,
        "{class} {args:?} failed ({}):\n{}",
        out.status,
        out.text()
    );
    out.stdout
}

/// One row of `kafka-consumer-groups --describe --group G` (the offsets view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffsetRow {
    pub topic: String,
    pub partition: i32,
    /// CURRENT-OFFSET; `None` where the tool prints `-` (no commit).
    pub committed: Option<i64>,
    /// LOG-END-OFFSET.
    pub log_end: i64,
    /// LAG; `None` where the tool prints `-`.
    pub lag: Option<i64>,
    /// CONSUMER-ID of the member the partition is assigned to; `None` without active members.
    pub consumer_id: Option<String>,
}

/// `--describe --group G --state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    /// Stable, Empty, PreparingRebalance, CompletingRebalance, Dead.
    pub state: String,
    pub members: usize,
    /// The coordinator's broker id; `None` for a group that does not exist.
    pub coordinator: Option<i32>,
}

fn dash_none(v: &str) -> Option<&str> {
    (v != "-").then_some(v)
}

/// Parses the offsets table of ConsumerGroupCommand 3.7:
///
/// ```text
/// GROUP  TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID
/// ```
///
/// Columns are found by header name; cells are whitespace-separated and never empty (`-` for
/// none), so this holds while no client id contains a space. Rows of `group` only; the row of
/// a member without partitions (`-` as partition) is left out.
pub fn parse_group_offsets(text: &str, group: &str) -> Result<Vec<GroupOffsetRow>, String> {
    let mut columns: Option<HashMap<&str, usize>> = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.first() == Some(&"GROUP") && cells.contains(&"LOG-END-OFFSET") {
            columns = Some(cells.iter().enumerate().map(|(i, c)| (*c, i)).collect());
            continue;
        }
        let Some(cols) = &columns else { continue };
        if cells.len() != cols.len() || cells[0] != group {
            continue;
        }
        let cell = |name: &str| -> Result<&str, String> {
            cols.get(name)
                .map(|&i| cells[i])
                .ok_or_else(|| format!("no {name} column in:\n{text}"))
        };
        let Ok(partition) = cell("PARTITION")?.parse::<i32>() else {
            continue;
        };
        let num = |name: &str| -> Result<Option<i64>, String> {
            dash_none(cell(name)?)
                .map(|v| v.parse::<i64>().map_err(|e| format!("{name} {v:?}: {e}")))
                .transpose()
        };
        rows.push(GroupOffsetRow {
            topic: cell("TOPIC")?.to_string(),
            partition,
            committed: num("CURRENT-OFFSET")?,
            log_end: num("LOG-END-OFFSET")?
                .ok_or_else(|| format!("no log end offset in {line:?}"))?,
            lag: num("LAG")?,
            consumer_id: dash_none(cell("CONSUMER-ID")?).map(str::to_string),
        });
    }
    if columns.is_none() && !text.contains("does not exist") {
        return Err(format!("no offsets table in:\n{text}"));
    }
    rows.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(rows)
}

/// Parses the `--state` table of ConsumerGroupCommand 3.7:
///
/// ```text
/// GROUP  COORDINATOR (ID)  ASSIGNMENT-STRATEGY  STATE  #MEMBERS
/// g      127.0.0.1:40331  (2)  range  Stable  1
/// ```
///
/// The coordinator cell holds a space and the strategy is empty for an Empty group, so the row
/// is read from both ends: group first, `(id)` third, state and member count last.
pub fn parse_group_state(text: &str, group: &str) -> Result<GroupState, String> {
    if text.contains(&format!("Consumer group '{group}' does not exist")) {
        return Ok(GroupState {
            state: "Dead".into(),
            members: 0,
            coordinator: None,
        });
    }
    let mut header_seen = false;
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.first() == Some(&"GROUP") && cells.contains(&"#MEMBERS") {
            header_seen = true;
            continue;
        }
        if !header_seen || cells.len() < 5 || cells[0] != group {
            continue;
        }
        let coordinator = cells[2]
            .trim_start_matches('(')
            .trim_end_matches(')')
            .parse()
            .map_err(|e| format!("coordinator id {:?}: {e}", cells[2]))?;
        let members = cells[cells.len() - 1]
            .parse()
            .map_err(|e| format!("#MEMBERS {:?}: {e}", cells[cells.len() - 1]))?;
        return Ok(GroupState {
            state: cells[cells.len() - 2].to_string(),
            members,
            coordinator: Some(coordinator),
        });
    }
    Err(format!("no state row for group {group:?} in:\n{text}"))
}

/// Parses the partition lines of TopicCommand 3.7's `--describe`:
/// `\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\t...` into (topic,
/// partition); topic summary lines (`PartitionCount:`) have no `Partition:` cell.
pub fn parse_topic_partitions(text: &str) -> Result<Vec<(String, i32)>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            cells
                .iter()
                .position(|c| *c == key)
                .and_then(|i| cells.get(i + 1))
        };
        if let (Some(topic), Some(partition)) = (after("Topic:"), after("Partition:")) {
            let partition = partition
                .parse()
                .map_err(|e| format!("partition {partition:?} in {line:?}: {e}"))?;
            out.push((topic.to_string(), partition));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Samples are the 3.7.1 tools' real stdout (bed_kafka run), member ids shortened.

    #[test]
    fn offsets_table_with_and_without_members() {
        let active = "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                  HOST            CLIENT-ID\n\
            raw-g2          raw             0          5               9               4               rdkafka-e59ad267-0dc8 /127.0.0.1      rdkafka\n\
            raw-g2          raw             1          -               0               -               rdkafka-e59ad267-0dc8 /127.0.0.1      rdkafka\n";
        let rows = parse_group_offsets(active, "raw-g2").unwrap();
        let member = Some("rdkafka-e59ad267-0dc8".to_string());
        assert_eq!(
            rows,
            vec![
                GroupOffsetRow {
                    topic: "raw".into(),
                    partition: 0,
                    committed: Some(5),
                    log_end: 9,
                    lag: Some(4),
                    consumer_id: member.clone(),
                },
                GroupOffsetRow {
                    topic: "raw".into(),
                    partition: 1,
                    committed: None,
                    log_end: 0,
                    lag: None,
                    consumer_id: member,
                },
            ]
        );
        let empty = "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
            raw-g           raw             0          1               3               2               -               -               -\n";
        let rows = parse_group_offsets(empty, "raw-g").unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.partition, r.committed, r.lag, r.consumer_id.clone()))
                .collect::<Vec<_>>(),
            vec![(0, Some(1), Some(2), None)]
        );
        assert!(parse_group_offsets(empty, "other").unwrap().is_empty());
        let missing = "\nError: Consumer group 'nope' does not exist.\n";
        assert!(parse_group_offsets(missing, "nope").unwrap().is_empty());
        assert!(parse_group_offsets("Error: something else", "g").is_err());
    }

    #[test]
    fn state_table_reads_from_both_ends() {
        let stable = "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n\
                      raw-g2                    127.0.0.1:40823 (2)       range                Stable          1\n";
        assert_eq!(
            parse_group_state(stable, "raw-g2").unwrap(),
            GroupState {
                state: "Stable".into(),
                members: 1,
                coordinator: Some(2)
            }
        );
        let empty = "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n\
                     raw-g                     127.0.0.1:40823 (3)                            Empty           0\n";
        let s = parse_group_state(empty, "raw-g").unwrap();
        assert_eq!(
            (s.state.as_str(), s.members, s.coordinator),
            ("Empty", 0, Some(3))
        );
        let missing = "\nError: Consumer group 'nope' does not exist.\n";
        assert_eq!(parse_group_state(missing, "nope").unwrap().state, "Dead");
        assert!(parse_group_state(stable, "other").is_err());
    }

    #[test]
    fn topic_describe_partition_lines() {
        let text = "Topic: t\tTopicId: abc\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: \n\
                    \tTopic: raw\tPartition: 1\tLeader: 1\tReplicas: 1,3,2\tIsr: 1,2\n\
                    \tTopic: __consumer_offsets\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\n";
        assert_eq!(
            parse_topic_partitions(text).unwrap(),
            vec![
                ("__consumer_offsets".to_string(), 0),
                ("raw".to_string(), 1)
            ]
        );
    }
}
