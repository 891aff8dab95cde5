// Benchmark (prints numbers, asserts nothing): layout and layout + first paint of pipelines of
// 50/200/500/2000 nodes, our wasm panel next to dagre.js (the layout Flink's web UI uses) on the
// same graphs in the same headless Chromium. Needs panel/build.sh first.
// Run: node tests/browser/panel-bench.mjs
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

import { ROOT, buildPage, launch, serve } from './panel/harness.mjs';

const SIZES = [50, 200, 500, 2000];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = (n) => (n >= 2000 ? 3 : n >= 500 ? 5 : 9);

await buildPage();
const { server, url } = await serve();
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
await page.goto(url);
await page.evaluate(() => window.phBench.layoutOurs(10)); // load and compile the wasm once

const rows = [];
for (const n of SIZES) {
  const k = runs(n);
  const sample = async (fn) => {
    const xs = [];
    for (let i = 0; i < k + 1; i++) {
      xs.push(await page.evaluate(([f, m]) => window.phBench[f](m), [fn, n]));
    }
    return xs.slice(1); // first run warms up the JIT
  };
  const ours = median(await sample('layoutOurs'));
  const dagre = median(await sample('layoutDagre'));
  const fullOurs = await sample('fullOurs');
  const fullDagre = await sample('fullDagre');
  const zoom = await sample('zoomToDetailOurs');
  const refreshed = await sample('refreshOurs');
  if (!refreshed.every((r) => r.kept)) {
    throw new Error(`a refresh lost the zoomed view (n = ${n})`);
  }
  if (!(zoom[0].cards > 0)) {
    throw new Error(`zooming in drew no full cards (n = ${n})`);
  }
  if (fullOurs[0].nodes !== n || fullDagre[0].nodes !== n) {
    throw new Error(`drew ${fullOurs[0].nodes} / ${fullDagre[0].nodes} nodes, expected ${n}`);
  }
  const t = (xs, key) => median(xs.map((r) => r[key]));
  rows.push({
    nodes: n,
    'wasm layout': ours.toFixed(2),
    'dagre layout': dagre.toFixed(1),
    'layout x': (dagre / ours).toFixed(0),
    'wasm script': t(fullOurs, 'script').toFixed(1),
    'wasm layout+paint': t(fullOurs, 'total').toFixed(1),
    'dagre layout+paint': t(fullDagre, 'total').toFixed(1),
    'paint x': (t(fullDagre, 'total') / t(fullOurs, 'total')).toFixed(1),
    'wasm zoom to cards': t(zoom, 'ms').toFixed(1),
    'cards drawn': t(zoom, 'cards'),
    'wasm refresh, view kept': t(refreshed, 'ms').toFixed(1),
    'refresh x': (t(fullDagre, 'total') / t(refreshed, 'ms')).toFixed(1),
  });
}
const version = browser.version();
await browser.close();
server.close();

console.log(
  `Chromium ${version}, medians of ${runs(50)}/${runs(200)}/${runs(500)}/${runs(2000)} runs after one warm-up.\n` +
    '"layout+paint": frames -> hand-over -> layout -> SVG DOM -> next frame painted (includes waiting for that frame, up to 16.7 ms);\n' +
    '"script": the same without the wait for the frame. dagre: dagre.layout + the same minimal SVG drawing, fitted the same way.\n' +
    '"refresh, view kept": new numbers for the same graph after zooming in (a refresh or a Live push) -> painted, the zoom unchanged;\n' +
    '"refresh x": dagre layout+paint (dagre has no incremental update, so a refresh redoes it) / that.'
);
console.log('all times in ms; "x" = dagre time / wasm time');
console.table(rows);
const wasm = readFileSync(join(ROOT, 'panel/pkg/pipeline_panel_bg.wasm'));
const glue = readFileSync(join(ROOT, 'panel/pkg/pipeline_panel.js'));
console.log(`pipeline_panel_bg.wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} bytes gzip`);
console.log(`wasm-bindgen glue pipeline_panel.js: ${glue.length} bytes, ${gzipSync(glue, { level: 9 }).length} gzip`);
for (const f of ['module.ts', 'TopologyPanel.tsx', 'handoff.ts', 'wasm.ts']) {
  console.log(`shim panel/shim/${f}: ${statSync(join(ROOT, 'panel/shim', f)).size} bytes`);
}
