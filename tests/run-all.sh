#!/usr/bin/env bash
# Every test of Pipeline Health, on a fresh Debian 12 machine with Rust, Node and Python:
# installs what it needs (apt, rustup target, wasm-bindgen-cli, npm, pip, Flink jars), builds
# both plugins into dist/, then runs the static checks and every suite. Fails loudly: a missing
# tool is an error, never a skipped suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s (%ss)\n' "$*" "$SECONDS"; }
declare -a SUITES_PASSED=() SUITES_FAILED=()
suite() {
  local name=$1; shift
  step "suite: $name"
  if "$@"; then SUITES_PASSED+=("$name"); else SUITES_FAILED+=("$name"); fi
}

step "system packages"
need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
# The demo's alert path run natively (tests/monitoring/alerting.py).
command -v prometheus-alertmanager >/dev/null || need_apt+=(prometheus-alertmanager)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v wasm-opt >/dev/null || need_apt+=(binaryen)
{ command -v javac && command -v keytool; } >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v unzip >/dev/null || need_apt+=(unzip)
# The compose services run natively (tests/monitoring/compose_native.py): `ip` for their network
# namespaces, wget for the healthchecks of the Prometheus and Alertmanager images, curl for those
# of the Confluent images (whose scripts run on Debian's python3).
command -v ip >/dev/null || need_apt+=(iproute2)
command -v wget >/dev/null || need_apt+=(wget)
command -v curl >/dev/null || need_apt+=(curl)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
# A real reverse proxy asking for basic auth or a bearer token in front of Flink (flink_auth.rs).
[ -x /usr/sbin/nginx ] || need_apt+=(nginx)
# The test bed (tests/src/bed/): Maven resolves Kafka, ZooKeeper, the JMX agent and the Flink
# connectors from Maven Central; PostgreSQL is the pipeline's sink; openssl for its certificates.
command -v mvn >/dev/null || need_apt+=(maven)
command -v openssl >/dev/null || need_apt+=(openssl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# Burrow, the reference implementation of the consumer-status rules, as the peer of the
# datasource's verdicts on the bed (tests/src/bed/burrow/; binary /usr/bin/Burrow).
[ -x /usr/bin/Burrow ] || need_apt+=(burrow)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian's prometheus packages start servers on :9090 and :9093; the tests start their own.
systemctl stop prometheus 2>/dev/null || pkill -x prometheus 2>/dev/null || true
systemctl stop prometheus-alertmanager 2>/dev/null || pkill -f '^/usr/bin/prometheus-alertmanager' 2>/dev/null || true

step "python packages"
python3 -m pip install -q --disable-pip-version-check check-jsonschema pytest pyyaml requests \
    -r tests/bed/requirements.txt

step "rust tools (wasm32 target, wasm-bindgen-cli at the locked version)"
cargo xtask tools

# The test binaries, clippy and the fuzz targets build while the steps below wait on the
# network, and clippy and the fuzz runs go on beside the bed suites, which mostly wait too. The
# test build runs at normal priority; clippy and fuzz at the lowest (nice 19 yields the CPU to
# the suites whenever they want it), each in its own target directory so no cargo lock is
# shared. They are waited for below. The fuzz targets run 20 s each here; `cargo xtask fuzz 600`
# for a longer run.
mkdir -p tests/output
declare -a BACKGROUND=()
background() {
  local name=$1 nice=$2; shift 2
  BACKGROUND+=("$name")
  ( renice -n "$nice" -p "$BASHPID" >/dev/null
    if "$@" > "tests/output/$name.log" 2>&1; then echo 0; else echo $?; fi > "tests/output/$name.rc" ) &
}
clippy() {
  # The fuzz targets are a workspace of their own; the same target dir reuses the deps.
  CARGO_TARGET_DIR=target/clippy cargo clippy --workspace --all-targets -- -D warnings &&
    CARGO_TARGET_DIR=target/clippy cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings
}
# Its failures show again, in full, when `cargo test` runs below.
( cargo test --workspace --no-run > tests/output/test-build.log 2>&1 || true ) &
TEST_BUILD=$!
background "cargo clippy" 19 clippy
background "fuzz (20 s per target)" 19 target/debug/xtask fuzz 20

step "npm packages"
npm ci --no-audit --no-fund --loglevel=error

# The plugins build (it needs the npm packages) while the jars download.
step "build both plugins into dist/ (beside the downloads below)"
( cargo xtask dist > tests/output/dist.log 2>&1; echo $? > tests/output/dist.rc ) &
DIST_BUILD=$!

step "Flink jars and test jobs"
bash tests/flink/fetch-flink.sh

step "test bed jars (Maven Central: Kafka 3.7.1, ZooKeeper, JMX agent, Flink connectors)"
bash tests/bed/fetch-jars.sh

step "waiting for dist/"
wait "$DIST_BUILD"
cat tests/output/dist.log
[ "$(cat tests/output/dist.rc)" = 0 ] || { echo "cargo xtask dist failed"; exit 1; }

step "static checks"
suite "cargo fmt" cargo fmt --all -- --check
suite "typescript" npx tsc --noEmit -p tsconfig.json

step "rust tests (unit + backend through the plugin host)"
wait "$TEST_BUILD"
# One test executable at a time: bed suites side by side (two lanes, or pytest beside them)
# ran each 1.7 times slower on 2 cores, so nothing was gained, and bounds were missed.
suite "cargo test" target/debug/xtask test 1

# The browser tests follow the Rust tests: they read the frames the bed suites save.
if [ -d tests/browser ]; then
  suite "browser tests" node --test tests/browser/
fi
# plugin.json against Grafana's schema, dist/ layout and zips; the monitoring stack's configs.
python_suites=(tests/packaging)
[ -d tests/monitoring ] && python_suites+=(tests/monitoring)
suite "packaging and monitoring (pytest)" python3 -m pytest -q --durations=15 "${python_suites[@]}"

step "waiting for the background suites"
wait
for name in "${BACKGROUND[@]}"; do
  step "suite: $name (ran beside the others)"
  # A failure shows its whole log; a pass its last lines (timings, counts).
  if [ "$(cat "tests/output/$name.rc")" = 0 ]; then
    tail -n 40 "tests/output/$name.log"; SUITES_PASSED+=("$name")
  else
    cat "tests/output/$name.log"; SUITES_FAILED+=("$name")
  fi
done

step "summary"
for s in "${SUITES_PASSED[@]}"; do echo "passed: $s"; done
for s in "${SUITES_FAILED[@]+"${SUITES_FAILED[@]}"}"; do echo "FAILED: $s"; done
echo "suites: ${#SUITES_PASSED[@]} passed, ${#SUITES_FAILED[@]} failed"
[ ${#SUITES_FAILED[@]} -eq 0 ]
