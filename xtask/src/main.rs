//! Build tasks for Pipeline Health.
//!
//! - `cargo xtask tools`: installs the wasm32 target and the wasm-bindgen CLI at the exact
//!   version locked in Cargo.lock (they must match the `wasm-bindgen` crate).
//! - `cargo xtask dist`: builds both plugins into `dist/<plugin-id>/` exactly as Grafana loads
//!   them, plus `dist/<plugin-id>-<version>.zip`.
//! - `cargo xtask fuzz [SECONDS] [TARGET...]`: installs cargo-fuzz if needed and runs the fuzz
//!   targets of `fuzz/` (see [`fuzz`]).
//! - `cargo xtask test [LANES] [-- ARGS]`: every Rust test, LANES test executables at once
//!   (see [`test_lanes`]).
//! - `cargo xtask contract`: writes the TypeScript generated from model/ (query types,
//!   thresholds, health colours, frame names); a test fails when the committed files drift.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

mod contract;
mod fuzz;
mod test_lanes;

const DATASOURCE_ID: &str = "pipelinehealth-kafkaflink-datasource";
const PANEL_ID: &str = "pipelinehealth-topology-panel";
const BACKEND_BIN: &str = "gpx_kafkaflink";
const WASM_NAME: &str = "pipeline_panel";

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("tools") => tools(),
        Some("dist") => dist(),
        Some("contract") => contract::contract(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("test") => test_lanes::test(&args[1..]),
        _ => Err(
            "usage: cargo xtask <tools|dist|contract|fuzz [SECONDS] [TARGET...]|test [LANES] [-- ARGS]>"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is inside the repo")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.current_dir(root()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `wasm-bindgen` crate version in Cargo.lock; the CLI must be exactly this version.
fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("no wasm-bindgen in Cargo.lock".into())
}

/// Whether `version_cmd` (a tool's `--version`, printing "<name> <version>") names `want`.
fn has_version(version_cmd: &mut Command, name: &str, want: &str) -> bool {
    let have = output(version_cmd).unwrap_or_default();
    let ok = have.split_whitespace().nth(1) == Some(want);
    if ok {
        eprintln!("xtask: {name} {want} already installed");
    }
    ok
}

fn tools() -> Result<()> {
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    let want = locked_wasm_bindgen_version()?;
    if has_version(
        Command::new("wasm-bindgen").arg("--version"),
        "wasm-bindgen",
        &want,
    ) {
        return Ok(());
    }
    // Not `--locked`: the CLI's own lock file pins a webpki-roots release the registry no
    // longer serves.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &want]))
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn dist() -> Result<()> {
    let root = root();
    let dist = root.join("dist");
    let ds_dir = dist.join(DATASOURCE_ID);
    let panel_dir = dist.join(PANEL_ID);
    for dir in [&ds_dir, &panel_dir] {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }

    // Backend binary, named as Grafana looks it up: <executable>_<os>_<arch>.
    run(Command::new("cargo").args([
        "build",
        "--release",
        "-p",
        "pipeline-backend",
        "--bin",
        BACKEND_BIN,
    ]))?;
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    copy(
        &target_dir.join("release").join(BACKEND_BIN),
        &ds_dir.join(format!("{BACKEND_BIN}_linux_amd64")),
    )?;

    // Panel: Rust -> wasm32 -> wasm-bindgen glue (bundled into module.js by rollup) + .wasm.
    // panel/build.sh owns those steps (and when wasm-opt is safe to use).
    run(Command::new("bash").arg("panel/build.sh"))?;
    let wasm_out = root.join("panel/pkg").join(format!("{WASM_NAME}_bg.wasm"));
    copy(&wasm_out, &panel_dir.join(format!("{WASM_NAME}_bg.wasm")))?;

    // Front ends: one AMD module.js per plugin.
    run(Command::new("npx")
        .args(["rollup", "-c", "rollup.config.mjs"])
        .env("DIST_DIR", &dist))?;

    let today = output(Command::new("date").arg("+%Y-%m-%d"))
        .unwrap_or_default()
        .trim()
        .to_string();
    for (dir, src) in [
        (&ds_dir, root.join("backend")),
        (&panel_dir, root.join("panel")),
    ] {
        let manifest =
            fs::read_to_string(src.join("plugin.json")).map_err(|e| format!("plugin.json: {e}"))?;
        let manifest = manifest
            .replace("%VERSION%", &version())
            .replace("%TODAY%", &today);
        fs::write(dir.join("plugin.json"), manifest).map_err(|e| e.to_string())?;
        copy(&src.join("img/logo.svg"), &dir.join("img/logo.svg"))?;
        copy(&src.join("README.md"), &dir.join("README.md"))?;
        copy(&root.join("CHANGELOG.md"), &dir.join("CHANGELOG.md"))?;
        copy(&root.join("LICENSE"), &dir.join("LICENSE"))?;
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        zip_dir(dir, &dist.join(format!("{id}-{}.zip", version())))?;
    }
    eprintln!(
        "xtask: built {} and {}",
        ds_dir.display(),
        panel_dir.display()
    );
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Zip `dir` with the plugin id as top folder, as Grafana's installer expects, keeping the
/// executable bit on the backend binary.
fn zip_dir(dir: &Path, out: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let top = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("bad dir")?
        .to_string();
    let file = fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let rel = path.strip_prefix(dir).map_err(|e| e.to_string())?;
        let mode = fs::metadata(&path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode & 0o777);
        zip.start_file(format!("{top}/{}", rel.display()), options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&fs::read(&path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    Ok(())
}
