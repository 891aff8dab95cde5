//! How the bed's JVMs are started: Java 21, Flink's home and classpath, the module opens and
//! log4j configs, the `config.yaml` of each process, the memory flags of Flink's
//! `BashJavaUtils`, and a bounded run of a Java tool.

use super::*;

/// Builds the bed's Java pieces once per process (`tests/bed/build-java.sh`, idempotent):
/// needs the Flink jars, so it fetches them first.
pub fn ensure_java() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        crate::flink_cluster::ensure_flink();
        crate::bed::ensure_jars();
        let root = repo_root();
        process::run_tool(
            "tests/bed/build-java.sh",
            Command::new("bash")
                .arg(root.join("tests/bed/build-java.sh"))
                .current_dir(&root),
        );
    });
}

/// `.cache/flink`: the Flink 2.3 runtime.
pub fn flink_home() -> PathBuf {
    repo_root().join(".cache/flink")
}

/// `.cache/bed/flink`: the UDF jar, the submitter's classes, BashJavaUtils.
pub fn bed_java_dir() -> PathBuf {
    cache_dir().join("flink")
}

/// The classpath of the cluster's JVMs: Flink's lib, the connectors, the ROAS UDF.
pub fn cluster_classpath() -> String {
    format!(
        "{}/lib/*:{}:{}",
        flink_home().display(),
        jar_set("flink-connectors"),
        bed_java_dir().join("roas-udf.jar").display()
    )
}

/// JDK 17 module openings Flink's own config passes to every JVM (Kryo reflects into these).
pub(super) const JAVA_OPENS: &[&str] = &[
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.text=ALL-UNNAMED",
    "--add-opens=java.base/java.time=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
];

pub(super) const LOG4J: &str = "\
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = Console
appender.console.name = Console
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
";

pub(super) const LOG4J_CLIENT: &str = "\
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = Console
appender.console.name = Console
appender.console.type = CONSOLE
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c - %m%n
";

pub(super) fn write_config(
    dir: &Path,
    common: &BTreeMap<String, String>,
    own: &[(&str, String)],
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a Flink config directory");
    let mut all = common.clone();
    for (k, v) in own {
        all.insert(k.to_string(), v.clone());
    }
    let mut text =
        String::from("# Written by tests/src/bed/flink/java.rs for one JVM of the bed.\n");
    for (k, v) in &all {
        text.push_str(&format!("{k}: {}\n", yaml_scalar(v)));
    }
    std::fs::write(dir.join("config.yaml"), text).expect("config.yaml");
    dir.to_path_buf()
}

/// A YAML scalar that stays a string (paths with `:`, class names).
pub(super) fn yaml_scalar(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Flink's BashJavaUtils for `conf`: the JVM flags (-Xmx, -Xms, direct and metaspace limits)
/// and the derived memory settings as `-D key=value` dynamic properties, exactly what
/// jobmanager.sh / taskmanager.sh would pass.
pub(super) fn memory_args(conf: &Path, command: &str) -> Vec<String> {
    let classpath = format!(
        "{}:{}/lib/*",
        bed_java_dir().join("bash-java-utils.jar").display(),
        flink_home().display()
    );
    let out = process::run_tool(
        "Flink BashJavaUtils",
        Command::new("java")
            .args(["-Xmx128m", "-cp", &classpath])
            .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
            .arg(command)
            .arg("--configDir")
            .arg(conf),
    );
    let results: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .collect();
    assert_eq!(
        results.len(),
        2,
        "BashJavaUtils {command}: expected JVM flags and dynamic properties, got:\n{out}"
    );
    let jvm: Vec<String> = results[0].split_whitespace().map(String::from).collect();
    let dynamic: Vec<String> = results[1].split_whitespace().map(String::from).collect();
    // The marker between the two halves, for java_command.
    [jvm, vec!["--".into()], dynamic].concat()
}

pub(super) fn java_command(
    dir: &Path,
    memory: &[String],
    jmx_port: u16,
    jmx_config: &str,
    main: &str,
    conf: &Path,
) -> Command {
    let split = memory
        .iter()
        .position(|a| a == "--")
        .unwrap_or(memory.len());
    let (jvm, dynamic) = (&memory[..split], &memory[(split + 1).min(memory.len())..]);
    let agent = format!(
        "-javaagent:{}=127.0.0.1:{jmx_port}:{}",
        cache_dir()
            .join("jars/jmx-agent/jmx_prometheus_javaagent-0.20.0.jar")
            .display(),
        repo_root()
            .join("provisioning/exporters/jmx")
            .join(jmx_config)
            .display()
    );
    let mut cmd = Command::new("java");
    cmd.args(jvm)
        .args(JAVA_OPENS)
        .arg(format!(
            "-Dlog4j.configurationFile=file:{}",
            dir.join("log4j.properties").display()
        ))
        .arg(agent)
        .args(["-cp", &cluster_classpath(), main])
        .arg("--configDir")
        .arg(conf)
        .args(dynamic)
        .env(
            "FLINK_PLUGINS_DIR",
            flink_home().join("plugins").display().to_string(),
        )
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to completion within `bound`; its stdout. Panics with stderr on failure.
pub(super) fn run_bounded(what: &str, cmd: &mut Command, bound: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        Some(s) if s.success() => out,
        Some(s) => panic!("{what} failed ({s}):\n{out}\n{err}"),
        None => panic!(
            "{what} did not finish within {} s:\n{out}\n{err}",
            bound.as_secs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_with_colons_or_slashes_stay_strings() {
        assert_eq!(yaml_scalar("127.0.0.1"), "127.0.0.1");
        assert_eq!(yaml_scalar("1152m"), "1152m");
        assert_eq!(yaml_scalar("file:///tmp/ck"), "\"file:///tmp/ck\"");
        assert_eq!(yaml_scalar("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn config_files_hold_common_and_own_settings() {
        let dir = std::env::temp_dir().join(format!("flink-conf-test-{}", std::process::id()));
        let common = BTreeMap::from([
            ("rest.port".to_string(), "1".to_string()),
            ("a.b".to_string(), "x".to_string()),
        ]);
        write_config(&dir, &common, &[("rest.port", "2".to_string())]);
        let text = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(text.contains("rest.port: 2\n"), "own settings win: {text}");
        assert!(text.contains("a.b: x\n"), "{text}");
        assert!(!text.contains("rest.port: 1"), "{text}");
    }
}
