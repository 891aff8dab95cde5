//! `gpx_kafkaflink check`: the pipeline's health from a terminal, for cron jobs, CI gates and
//! on-call shells. Same settings, same rules and same topology as the datasource; prints one
//! row per node and exits with the pipeline's verdict (0 ok, 1 warning, 2 critical, 3 unknown,
//! as monitoring plugins do).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use clap::Parser;
use pipeline_model::{Health, Topology};

use crate::instance::Instance;
use crate::settings::DatasourceSettings;
use crate::topology::gather::{build, Scope};

#[derive(Debug, Parser)]
#[command(
    name = "gpx_kafkaflink check",
    about = "Check a Kafka -> Flink pipeline's health and exit with its verdict"
)]
pub struct CheckArgs {
    /// Kafka bootstrap servers, host:port[,host:port...]
    #[arg(long)]
    pub kafka: Option<String>,
    /// Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    #[arg(long, default_value = "PLAINTEXT")]
    pub kafka_security_protocol: String,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    #[arg(long)]
    pub kafka_sasl_mechanism: Option<String>,
    #[arg(long)]
    pub kafka_username: Option<String>,
    /// Read from the environment, never from the command line (it would show in `ps`).
    #[arg(long, env = "PIPELINE_KAFKA_PASSWORD", hide_env_values = true)]
    pub kafka_password: Option<String>,
    /// Flink REST URL, e.g. http://jobmanager:8081
    #[arg(long)]
    pub flink: Option<String>,
    #[arg(long, env = "PIPELINE_FLINK_TOKEN", hide_env_values = true)]
    pub flink_token: Option<String>,
    /// Consumer groups to watch (comma-separated), for clusters that cannot list groups.
    #[arg(long)]
    pub groups: Option<String>,
    /// Pipeline description: a JSON file (see the README).
    #[arg(long)]
    pub pipeline: Option<std::path::PathBuf>,
    /// Thresholds as JSON, e.g. '{"lagCritical": 50000}'
    #[arg(long)]
    pub thresholds: Option<String>,
    /// Seconds to wait for Kafka and Flink.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

impl CheckArgs {
    /// The datasource settings these flags stand for, so the check uses the plugin's own parsing.
    pub fn settings(&self) -> Result<DatasourceSettings, String> {
        let mut json = serde_json::Map::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                json.insert(k.to_string(), v.into());
            }
        };
        put("kafkaBootstrapServers", self.kafka.as_deref());
        put("kafkaSecurityProtocol", Some(&self.kafka_security_protocol));
        put("kafkaSaslMechanism", self.kafka_sasl_mechanism.as_deref());
        put("kafkaUsername", self.kafka_username.as_deref());
        put("flinkUrl", self.flink.as_deref());
        put("flinkAuth", self.flink_token.as_ref().map(|_| "bearer"));
        json.insert("queryTimeoutSeconds".into(), self.timeout.into());
        if let Some(t) = &self.thresholds {
            let value: serde_json::Value =
                serde_json::from_str(t).map_err(|e| format!("--thresholds is not JSON: {e}"))?;
            json.insert("thresholds".into(), value);
        }
        if let Some(path) = &self.pipeline {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--pipeline {}: {e}", path.display()))?;
            json.insert("pipeline".into(), text.into());
        }
        let mut secure = HashMap::new();
        if let Some(p) = &self.kafka_password {
            secure.insert("kafkaPassword".to_string(), p.clone());
        }
        if let Some(t) = &self.flink_token {
            secure.insert("flinkBearerToken".to_string(), t.clone());
        }
        DatasourceSettings::parse(&serde_json::Value::Object(json), &secure)
            .map_err(|e| e.to_string())
    }
}

/// How the process was started, from its arguments (without the program name).
#[derive(Debug, PartialEq, Eq)]
pub enum Launch {
    /// No arguments: Grafana starts the plugin server (handshake line first on stdout).
    Plugin,
    /// `check ...`: the command-line health check.
    Check,
    /// Anything else: print `stdout` and `stderr`, exit with `code`; never start the server.
    Exit {
        code: i32,
        stdout: String,
        stderr: String,
    },
}

/// What the binary is, for a person who ran it by hand.
pub fn usage() -> String {
    format!(
        "gpx_kafkaflink {}: the backend of the Pipeline Health Grafana datasource (Kafka -> Flink).\n\
         \n\
         Grafana starts it without arguments and talks to it over gRPC; do not run it that way\n\
         by hand. From a terminal:\n\
         \n\
         \x20 gpx_kafkaflink check --help   the pipeline's health check (exit 0 ok .. 3 unknown)\n\
         \x20 gpx_kafkaflink --version      the version\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Decide what to do with the command line; `args` excludes the program name.
pub fn launch(args: &[String]) -> Launch {
    let exit = |code, stdout: String, stderr: String| Launch::Exit {
        code,
        stdout,
        stderr,
    };
    match args.first().map(String::as_str) {
        None => Launch::Plugin,
        Some("check") => Launch::Check,
        Some("--version" | "-V") => exit(
            0,
            format!("gpx_kafkaflink {}\n", env!("CARGO_PKG_VERSION")),
            String::new(),
        ),
        Some("--help" | "-h" | "help") => exit(3, usage(), String::new()),
        Some(other) if other.starts_with('-') => exit(
            3,
            String::new(),
            format!("gpx_kafkaflink: unexpected argument `{other}`\n\n{}", usage()),
        ),
        Some(other) => exit(
            3,
            String::new(),
            format!(
                "gpx_kafkaflink: unknown subcommand `{other}`; the only subcommand is `check`\n\n{}",
                usage()
            ),
        ),
    }
}

/// Run the check; returns the process exit code.
pub async fn run(args: CheckArgs) -> i32 {
    let settings = match args.settings() {
        Ok(s) if s.kafka.is_none() && s.flink.is_none() => {
            eprintln!("check: give --kafka and/or --flink");
            return 3;
        }
        // A bad Kafka option is a usage error here (a datasource would still ask Flink).
        Ok(DatasourceSettings {
            kafka: Some(Err(e)),
            ..
        }) => {
            eprintln!("check: {e}");
            return 3;
        }
        Ok(s) => s,
        Err(e) => {
            eprintln!("check: {e}");
            return 3;
        }
    };
    let timeout = settings.query_timeout;
    let instance = match Instance::build(settings) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("check: {e}");
            return 3;
        }
    };
    let groups: Vec<String> = args
        .groups
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect();
    let scope = Scope {
        pipeline: None,
        groups: &groups,
    };
    let refresh = build(&instance, scope, &instance.settings.thresholds, timeout);
    let topo = match tokio::time::timeout(deadline(timeout), refresh).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            eprintln!("check: {e}");
            return 3;
        }
        Err(_) => {
            eprintln!(
                "check: no answer within {:.1} s",
                deadline(timeout).as_secs_f64()
            );
            return 3;
        }
    };
    print!("{}", table(&topo));
    exit_code(topo.verdict())
}

pub fn exit_code(h: Health) -> i32 {
    match h {
        Health::Ok => 0,
        Health::Warning => 1,
        Health::Critical => 2,
        Health::Unknown => 3,
    }
}

/// The health table: one row per node, the root cause and its victims marked, the verdict and
/// the root cause's sentence last.
pub fn table(t: &Topology) -> String {
    let rows: Vec<[String; 4]> = t
        .nodes
        .iter()
        .map(|n| {
            let mark = if n.bottleneck {
                " <- root cause"
            } else if n.victim {
                " (victim)"
            } else {
                ""
            };
            [
                n.health.as_str().to_uppercase(),
                n.kind.as_str().to_string(),
                n.title.clone(),
                format!("{}{mark}", n.reason),
            ]
        })
        .collect();
    let headers = ["STATUS", "KIND", "NODE", "REASON"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([headers[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(headers);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    let verdict = t.verdict();
    let _ = writeln!(out, "pipeline: {}", verdict.as_str().to_uppercase());
    // One line per pipeline in trouble (jobs that share nothing have causes of their own).
    for c in &t.root_causes {
        let _ = writeln!(out, "root cause: {}", c.sentence);
    }
    out
}

/// Upper bound on the whole check, so a cron job never hangs.
pub fn deadline(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_model::rules::Verdict;
    use pipeline_model::{Node, NodeKind, ReasonCode};

    #[test]
    fn table_lists_nodes_and_names_the_bottleneck() {
        let mut slow = Node::new("a", "slow-enrich", NodeKind::FlinkOperator);
        slow.judged(Verdict::new(
            Health::Critical,
            ReasonCode::Bottleneck,
            "bottleneck: busy 98 %",
        ));
        let mut topic = Node::new("b", "clicks", NodeKind::KafkaTopic);
        topic.health = Health::Ok;
        let mut t = Topology {
            nodes: vec![topic, slow],
            edges: vec![],
            root_causes: Vec::new(),
        };
        pipeline_model::root_cause::mark(&mut t);
        let text = table(&t);
        assert!(text.lines().next().unwrap().starts_with("STATUS"));
        assert!(
            text.contains(
                "CRITICAL  flink-operator  slow-enrich  bottleneck: busy 98 % <- root cause"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("pipeline: CRITICAL\nroot cause: slow-enrich: bottleneck: busy 98 %\n"),
            "{text}"
        );
        assert_eq!(exit_code(t.verdict()), 2);
    }

    fn exit_of(args: &[&str]) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match launch(&args) {
            Launch::Exit {
                code,
                stdout,
                stderr,
            } => (code, stdout, stderr),
            other => panic!("{args:?} must not start anything, got {other:?}"),
        }
    }

    #[test]
    fn only_no_arguments_start_the_plugin_and_only_check_runs_the_check() {
        assert_eq!(launch(&[]), Launch::Plugin);
        assert_eq!(launch(&["check".into(), "--help".into()]), Launch::Check);
        for help in ["--help", "-h"] {
            let (code, out, err) = exit_of(&[help]);
            assert_eq!(code, 3);
            assert!(
                out.contains("check --help") && out.contains("Grafana"),
                "{out}"
            );
            assert!(err.is_empty());
        }
        let (code, out, err) = exit_of(&["chek"]);
        assert_eq!(code, 3);
        assert!(out.is_empty());
        assert!(err.contains("`chek`") && err.contains("`check`"), "{err}");
        let (code, _, err) = exit_of(&["--port", "1"]);
        assert_eq!(code, 3);
        assert!(
            err.contains("`--port`") && err.contains("check --help"),
            "{err}"
        );
        let (code, out, _) = exit_of(&["--version"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            format!("gpx_kafkaflink {}\n", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn flags_become_datasource_settings() {
        let args = CheckArgs::parse_from([
            "check",
            "--kafka",
            "k:9092",
            "--flink",
            "http://f:8081",
            "--timeout",
            "3",
        ]);
        let s = args.settings().unwrap();
        assert_eq!(s.kafka.unwrap().unwrap().bootstrap_servers, "k:9092");
        assert_eq!(s.query_timeout, Duration::from_secs(3));
        let bad = CheckArgs::parse_from(["check", "--flink", "f:8081"]);
        assert!(bad.settings().unwrap_err().contains("flinkUrl"));
    }
}
