//! The binary run by hand: anything but no arguments (Grafana) or `check ...` prints a usage
//! and exits, instead of starting a plugin server that waits for a Grafana that never comes.

use std::process::Stdio;
use std::time::Duration;

use pipeline_tests::host::backend_binary;
use tokio::process::Command;

/// Run the binary with `args`; (exit code, stdout, stderr), or a panic if it keeps running.
async fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let child = Command::new(backend_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the backend binary");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`gpx_kafkaflink {}` still runs after 10 s", args.join(" ")))
        .expect("wait for the backend binary");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn arguments_other_than_check_print_a_usage_and_exit() {
    for help in ["--help", "-h"] {
        let (code, out, _) = run(&[help]).await;
        assert_eq!(code, Some(3), "{help}");
        assert!(
            out.contains("Grafana") && out.contains("check --help"),
            "{help}: {out}"
        );
    }
    let (code, out, err) = run(&["chek"]).await;
    assert_eq!(code, Some(3));
    assert!(out.is_empty(), "nothing on stdout, it is Grafana's: {out}");
    assert!(err.contains("`chek`") && err.contains("`check`"), "{err}");
    let (code, _, err) = run(&["--listen", "127.0.0.1:1"]).await;
    assert_eq!(code, Some(3));
    assert!(
        err.contains("`--listen`") && err.contains("check --help"),
        "{err}"
    );
    let (code, out, _) = run(&["--version"]).await;
    assert_eq!(code, Some(0));
    assert!(out.starts_with("gpx_kafkaflink "), "{out}");
    // The check's own CLI is unchanged.
    let (code, out, _) = run(&["check", "--help"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("--kafka"), "{out}");
}
