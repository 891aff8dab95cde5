// The benchmark's entry points (tests/browser/panel-bench.mjs): our layout and first paint
// against dagre with a minimal drawing, on the synthetic pipelines of fixtures.ts.
import { createTheme, getDefaultTimeRange, LoadingState, type PanelData } from '@grafana/data';
import dagre from 'dagre';

import { handOver } from '../../../panel/shim/handoff';
import { loadWasm } from '../../../panel/shim/wasm';
import { defaultOptions, syntheticPipeline, topologyFrames } from './fixtures';

/** Resolves after the browser has painted the current DOM (next frame, then a task). */
export const painted = () =>
  new Promise<void>((r) => requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); }));

function edgeIndices(n: number) {
  const p = syntheticPipeline(n);
  const index = new Map(p.nodes.map((x, i) => [x.id, i]));
  return {
    p,
    sources: Uint32Array.from(p.edges.map((e) => index.get(e.source)!)),
    targets: Uint32Array.from(p.edges.map((e) => index.get(e.target)!)),
  };
}

function dagreLayout(p: ReturnType<typeof syntheticPipeline>) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 26, ranksep: 96 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of p.nodes) {
    g.setNode(n.id, { width: 208, height: 76 });
  }
  for (const e of p.edges) {
    g.setEdge(e.source, e.target);
  }
  dagre.layout(g);
  return g;
}

/** The same drawing as ours, minimally, in plain JS: card per node, path per edge, fitted to the
 * panel like ours, with title and number only when legible (the panel's DETAIL_SCALE rule). */
function drawDagre(host: HTMLElement, g: dagre.graphlib.Graph, p: ReturnType<typeof syntheticPipeline>) {
  const ns = 'http://www.w3.org/2000/svg';
  const { width = 1, height = 1 } = g.graph();
  const scale = Math.min(1, (1100 - 48) / width, (520 - 48 - 22) / height);
  const detail = scale >= 0.45;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '1100');
  svg.setAttribute('height', '520');
  const vp = document.createElementNS(ns, 'g');
  vp.setAttribute('transform', `translate(24,24) scale(${scale})`);
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M' + pts.map((q: { x: number; y: number }) => `${q.x} ${q.y}`).join('L'));
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', '#888');
    vp.appendChild(path);
  }
  for (const n of p.nodes) {
    const pos = g.node(n.id);
    const grp = document.createElementNS(ns, 'g');
    grp.setAttribute('transform', `translate(${pos.x},${pos.y})`);
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', '-104');
    rect.setAttribute('y', '-38');
    rect.setAttribute('width', '208');
    rect.setAttribute('height', '76');
    rect.setAttribute('fill', '#181b1f');
    grp.appendChild(rect);
    vp.appendChild(grp);
    if (!detail) {
      continue;
    }
    const t = document.createElementNS(ns, 'text');
    t.textContent = n.title;
    grp.appendChild(t);
    const m = document.createElementNS(ns, 'text');
    m.setAttribute('y', '20');
    m.textContent = String(n.mainstat);
    grp.appendChild(m);
  }
  svg.appendChild(vp);
  host.replaceChildren(svg);
}

/** A synthetic pipeline's frames and an empty host for one benchmark run. */
async function benchInput(n: number) {
  const wasm = await loadWasm();
  const p = syntheticPipeline(n);
  const data: PanelData = { series: topologyFrames(p.nodes, p.edges), state: LoadingState.Done, timeRange: getDefaultTimeRange() };
  const host = document.getElementById('bench')!;
  host.replaceChildren();
  return { wasm, data, host, theme: createTheme({ colors: { mode: 'dark' } }) };
}

/** Every vertex drawn, so the panel lays out the same n nodes as dagre (the default, auto, may
 * show a job as one card). */
const everyVertex: typeof defaultOptions = { ...defaultOptions, flinkJobs: 'vertices' };

/** Our panel showing a synthetic pipeline of `n` nodes, painted, and its zoom-in button. */
async function paintedOurs(n: number) {
  const input = await benchInput(n);
  const panel = new input.wasm.TopologyPanel(input.host, () => {});
  handOver(panel, input.data, everyVertex, input.theme);
  panel.resize(1100, 520);
  panel.render();
  await painted();
  const plus = input.host.querySelector<HTMLButtonElement>('.pht button[data-act=in]')!;
  return { ...input, panel, plus };
}

export const bench = {
  async layoutOurs(n: number) {
    const wasm = await loadWasm();
    const { sources, targets } = edgeIndices(n);
    const t0 = performance.now();
    wasm.layout_only(n, sources, targets, false);
    return performance.now() - t0;
  },
  layoutDagre(n: number) {
    const { p } = edgeIndices(n);
    const t0 = performance.now();
    dagreLayout(p);
    return performance.now() - t0;
  },
  /** Frames -> wasm (hand-over) -> layout -> SVG -> first paint, without React. */
  async fullOurs(n: number) {
    const { wasm, data, host, theme } = await benchInput(n);
    await painted();
    const t0 = performance.now();
    const panel = new wasm.TopologyPanel(host, () => {});
    handOver(panel, data, everyVertex, theme);
    const handed = performance.now();
    panel.resize(1100, 520);
    panel.render();
    const drawn = performance.now();
    await painted();
    const total = performance.now() - t0;
    const nodes = Number(host.querySelector<HTMLElement>('.overview')?.dataset.nodes);
    panel.free();
    return { total, script: drawn - t0, handover: handed - t0, nodes };
  },
  /** After the first paint, zoom in (the + button) until full cards appear: the cost of
   * drawing the cards in view with their text. */
  async zoomToDetailOurs(n: number) {
    const { host, panel, plus } = await paintedOurs(n);
    let ms = 0;
    for (let i = 0; i < 20 && !host.querySelector('.node'); i++) {
      const t0 = performance.now();
      plus.click();
      await painted();
      ms = performance.now() - t0;
    }
    const cards = host.querySelectorAll('.node').length;
    panel.free();
    return { ms, cards };
  },
  /** A dashboard refresh (or a Grafana Live push) of the same graph with new numbers, after
   * the user zoomed in: new frames handed over -> drawn -> painted, and whether the view
   * (the viewport's transform) stayed as the user left it. */
  async refreshOurs(n: number) {
    const { data, host, theme, panel, plus } = await paintedOurs(n);
    plus.click();
    plus.click();
    await painted();
    const view = () => host.querySelector('.pht g.viewport')?.getAttribute('transform');
    const before = view();
    const p = syntheticPipeline(n);
    p.nodes.forEach((x) => (x.mainstat += 17));
    const next: PanelData = { ...data, series: topologyFrames(p.nodes, p.edges) };
    const t0 = performance.now();
    handOver(panel, next, everyVertex, theme);
    panel.render();
    await painted();
    const ms = performance.now() - t0;
    const kept = before !== undefined && view() === before;
    panel.free();
    return { ms, kept };
  },
  /** dagre layout + a minimal JS SVG drawing -> first paint. */
  async fullDagre(n: number) {
    const p = syntheticPipeline(n);
    const host = document.getElementById('bench')!;
    host.replaceChildren();
    await painted();
    const t0 = performance.now();
    const g = dagreLayout(p);
    drawDagre(host, g, p);
    const drawn = performance.now();
    await painted();
    const total = performance.now() - t0;
    const nodes = host.querySelectorAll('rect').length;
    host.replaceChildren();
    return { total, script: drawn - t0, nodes };
  },
};
