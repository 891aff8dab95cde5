//! Flink has no authentication of its own; operators put its REST API behind a reverse proxy
//! that asks for basic auth or a bearer token. Here that is a real nginx in front of a real Flink
//! 2.3, asked through the spawned backend with the datasource's `flinkAuth` settings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pipeline_tests::flink_cluster::FlinkCluster;
use pipeline_tests::{DatasourceConfig, PluginHost};
use serde_json::json;

const USER: &str = "grafana";
const PASSWORD: &str = "pa55-w0rd-basic";
const TOKEN: &str = "tok-bearer-7e57";

/// nginx with two loopback listeners in front of `upstream`: one wants basic auth, one a
/// bearer token. Stopped when dropped.
struct AuthProxy {
    child: Child,
    basic_port: u16,
    bearer_port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    l.local_addr().unwrap().port()
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is installed (apt-get install -y nginx; tests/run-all.sh does)")
}

impl AuthProxy {
    fn start(upstream_port: u16) -> AuthProxy {
        let dir =
            std::env::temp_dir().join(format!("pipeline-health-nginx-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        // `{PLAIN}` is nginx's own clear-text scheme for auth_basic_user_file: no htpasswd tool.
        std::fs::write(
            dir.join("htpasswd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let (basic_port, bearer_port) = (free_port(), free_port());
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  server {{
    listen 127.0.0.1:{basic_port};
    location / {{
      auth_basic "flink";
      auth_basic_user_file {d}/htpasswd;
      proxy_pass http://127.0.0.1:{upstream_port};
    }}
  }}
  server {{
    listen 127.0.0.1:{bearer_port};
    location / {{
      if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}
      proxy_pass http://127.0.0.1:{upstream_port};
    }}
  }}
}}
"#
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let proxy = AuthProxy {
            child,
            basic_port,
            bearer_port,
            dir,
        };
        proxy.wait_listening();
        proxy
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in [self.basic_port, self.bearer_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nginx is not listening on {port}: {}",
                    read(&self.dir.join("error.log"))
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

impl Drop for AuthProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_no_secret(place: &str, text: &str) {
    for secret in [PASSWORD, TOKEN] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into {place}: {text}"
        );
    }
}

#[tokio::test]
async fn basic_and_bearer_auth_through_a_real_proxy() {
    let cluster = FlinkCluster::start(&["--jobs", "1"], 1);
    let port = cluster.port();
    let proxy = AuthProxy::start(port);
    let host = PluginHost::start().await;
    let basic_url = format!("http://127.0.0.1:{}", proxy.basic_port);
    let bearer_url = format!("http://127.0.0.1:{}", proxy.bearer_port);
    let basic = |password: &str| {
        DatasourceConfig::new(json!({
            "flinkUrl": basic_url, "flinkAuth": "basic", "flinkUsername": USER,
        }))
        .with_secure("flinkPassword", password)
    };
    let bearer = |token: &str| {
        DatasourceConfig::new(json!({ "flinkUrl": bearer_url, "flinkAuth": "bearer" }))
            .with_secure("flinkBearerToken", token)
    };

    for (how, ds) in [("basic", basic(PASSWORD)), ("bearer", bearer(TOKEN))] {
        let answer = host.query_one(&ds, "jobs", json!({})).await;
        assert!(answer.error.is_empty(), "{how}: {}", answer.error);
        let job = answer.frame("jobs").find_row("name", "pipeline-1");
        assert!(job.is_some(), "{how}: the job comes through the proxy");
        let (status, message, _) = host.check_health(&ds).await;
        assert_eq!(status, 1, "{how}: {message}");
    }

    // Without the right secret the proxy says 401, and the message says what to fix.
    let no_auth = DatasourceConfig::new(json!({ "flinkUrl": basic_url }));
    for (how, ds) in [
        ("basic", basic("wrong-password")),
        ("bearer", bearer("wrong-token")),
        ("none", no_auth),
    ] {
        let answer = host.query_one(&ds, "jobs", json!({})).await;
        assert!(answer.frames.is_empty(), "{how}");
        assert!(
            answer.error.contains("HTTP 401") && answer.error.contains("credentials"),
            "{how}: {}",
            answer.error
        );
        let (status, message, details) = host.check_health(&ds).await;
        assert_eq!(status, 2, "{how}: {message}");
        assert!(message.contains("401"), "{how}: {message}");
        assert_no_secret("the query error", &answer.error);
        assert_no_secret("the health message", &message);
        assert_no_secret("the health details", &details.to_string());
    }
    assert_no_secret("the plugin log", &host.log());
}
