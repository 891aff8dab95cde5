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
command -v chromium >/dev/null || need_apt+=(chromium)
command -v wasm-opt >/dev/null || need_apt+=(binaryen)
{ command -v javac && command -v keytool; } >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v unzip >/dev/null || need_apt+=(unzip)
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
# Debian's prometheus package starts a server on :9090; the tests start their own.
systemctl stop prometheus 2>/dev/null || pkill -x prometheus 2>/dev/null || true

step "python packages"
python3 -m pip install -q --disable-pip-version-check check-jsonschema pytest pyyaml requests \
    -r tests/bed/requirements.txt

step "rust tools (wasm32 target, wasm-bindgen-cli at the locked version)"
cargo xtask tools

step "npm packages"
npm ci --no-audit --no-fund --loglevel=error

step "Flink jars and test jobs"
bash tests/flink/fetch-flink.sh

step "test bed jars (Maven Central: Kafka 3.7.1, ZooKeeper, JMX agent, Flink connectors)"
bash tests/bed/fetch-jars.sh

step "build both plugins into dist/"
cargo xtask dist

step "static checks"
suite "cargo fmt" cargo fmt --all -- --check
suite "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
suite "typescript" npx tsc --noEmit -p tsconfig.json

step "rust tests (unit + backend through the plugin host)"
suite "cargo test" cargo test --workspace --no-fail-fast

if [ -d tests/browser ]; then
  suite "browser tests" node --test tests/browser/
fi
# plugin.json against Grafana's schema, dist/ layout and zips; the monitoring stack's configs.
python_suites=(tests/packaging)
[ -d tests/monitoring ] && python_suites+=(tests/monitoring)
suite "packaging and monitoring (pytest)" python3 -m pytest -q "${python_suites[@]}"

step "summary"
for s in "${SUITES_PASSED[@]}"; do echo "passed: $s"; done
for s in "${SUITES_FAILED[@]+"${SUITES_FAILED[@]}"}"; do echo "FAILED: $s"; done
echo "suites: ${#SUITES_PASSED[@]} passed, ${#SUITES_FAILED[@]} failed"
[ ${#SUITES_FAILED[@]} -eq 0 ]
