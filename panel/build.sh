#!/usr/bin/env bash
# Builds the panel's WebAssembly into panel/pkg/: pipeline_panel.js (wasm-bindgen glue, ES
# module, bundled into module.js by rollup) and pipeline_panel_bg.wasm (copied next to
# module.js in dist/pipelinehealth-topology-panel/). Needs the wasm32 target and the
# wasm-bindgen CLI at the version locked in Cargo.lock (`cargo xtask tools`); wasm-opt
# is an optional size pass, used only from binaryen 117 on: Debian 12's binaryen 108 does not
# know the reference-types/multi-value encoding Rust >= 1.82 emits for wasm32 and writes a
# module the browser rejects ("Table.set(): Argument 1 is invalid" / "invalid value type").
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -p pipeline-panel --target wasm32-unknown-unknown --release
rm -rf panel/pkg
wasm-bindgen --target web --no-typescript --out-name pipeline_panel --out-dir panel/pkg \
  "$TARGET_DIR/wasm32-unknown-unknown/release/pipeline_panel.wasm"
opt_version=$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -1 || true)
if [ "${opt_version:-0}" -ge 117 ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals panel/pkg/pipeline_panel_bg.wasm -o panel/pkg/pipeline_panel_bg.wasm
else
  echo "panel/build.sh: wasm-opt ${opt_version:-missing} is older than 117; shipping the .wasm unoptimised" >&2
fi
wasm=$(stat -c %s panel/pkg/pipeline_panel_bg.wasm)
gz=$(gzip -9 -c panel/pkg/pipeline_panel_bg.wasm | wc -c)
echo "panel/build.sh: pipeline_panel_bg.wasm ${wasm} bytes, ${gz} bytes gzip -9"
