// Test page: mounts the real panel component (panel/shim/TopologyPanel.tsx) with real
// @grafana/data frames and themes and the real @grafana/ui, and the benchmark entry points.
import {
  type DataFrame,
  FieldType,
  getDefaultTimeRange,
  LoadingState,
  type PanelData,
  type ScopedVars,
  ThemeContext,
  createTheme,
  toDataFrame,
  EventBusSrv,
  PanelOptionsEditorBuilder,
  standardEditorsRegistry,
} from '@grafana/data';
import dagre from 'dagre';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { handOver, type TopologyOptions } from '../../../panel/shim/handoff';
import { plugin } from '../../../panel/shim/module';
import { TopologyPanel } from '../../../panel/shim/TopologyPanel';
import { loadWasm, wasmUrl } from '../../../panel/shim/wasm';
import { orderPipeline, syntheticPipeline, topologyFrames } from './fixtures';

/** Stands in for Grafana's template service: `${__data.fields.x}` from the link's data context. */
function replaceVariables(value: string, scoped?: ScopedVars): string {
  const ctx = (scoped?.__dataContext?.value ?? {}) as { frame?: DataFrame; rowIndex?: number };
  return value.replace(/\$\{__data\.fields\.([\w]+)\}/g, (_, name) => {
    const field = ctx.frame?.fields.find((f) => f.name === name);
    const v = field && ctx.rowIndex !== undefined ? field.values[ctx.rowIndex] : '';
    return encodeURIComponent(String(v ?? ''));
  });
}

function scenario(name: string): Pick<PanelData, 'series' | 'errors' | 'state'> {
  const done = LoadingState.Done;
  switch (name) {
    case 'pipeline': {
      const p = orderPipeline();
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
    case 'xss': {
      const p = orderPipeline('<img src=x onerror=alert(1)>');
      p.nodes[1].reason = '<script>window.__pwned = true</script>';
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
    case 'empty':
      return { series: [], state: done };
    case 'error':
      return {
        series: [],
        errors: [{ message: 'Flink REST API at http://flink:8081 answered 503 Service Unavailable', refId: 'A' }],
        state: LoadingState.Error,
      };
    case 'error-frame':
      // A data source that answers with a frame carrying an error notice instead of data.
      return {
        series: [
          toDataFrame({
            name: 'nodes',
            meta: { notices: [{ severity: 'error', text: 'Kafka bootstrap servers unreachable: kafka-1:9092' }] },
            fields: [],
          }),
        ],
        state: done,
      };
    case 'malformed':
      return {
        series: [
          toDataFrame({
            name: 'A',
            fields: [
              { name: 'time', type: FieldType.time, values: [1, 2] },
              { name: 'value', type: FieldType.number, values: [3, 4] },
            ],
          }),
        ],
        state: done,
      };
    case 'malformed-edges': {
      const p = orderPipeline();
      const [nodes] = topologyFrames(p.nodes, p.edges);
      const edges = toDataFrame({
        name: 'edges',
        fields: [
          { name: 'source', type: FieldType.string, values: ['topic:orders', 'group:enricher'] },
          { name: 'target', type: FieldType.string, values: ['group:enricher', 'no-such-node'] },
        ],
      });
      return { series: [nodes, edges], state: done };
    }
    case 'nodegraph':
      // Plain Node Graph frames from some other data source: numeric ids, arcs, no extras.
      return {
        series: [
          toDataFrame({
            fields: [
              { name: 'id', type: FieldType.number, values: [1, 2, 3] },
              { name: 'title', type: FieldType.string, values: ['frontend', 'api', 'db'] },
              { name: 'mainstat', type: FieldType.number, values: [12, 40, 7], config: { unit: 'ms' } },
              { name: 'arc__ok', type: FieldType.number, values: [1, 0.5, 0] },
              { name: 'arc__critical', type: FieldType.number, values: [0, 0.5, 1] },
            ],
          }),
          toDataFrame({
            fields: [
              { name: 'id', type: FieldType.string, values: ['a', 'b'] },
              { name: 'source', type: FieldType.number, values: [1, 2] },
              { name: 'target', type: FieldType.number, values: [2, 3] },
            ],
          }),
        ],
        state: done,
      };
    default: {
      const n = Number(name.replace('synthetic:', ''));
      const p = syntheticPipeline(n);
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
  }
}

const defaults: TopologyOptions = {
  orientation: 'LR',
  mainStat: 'mainstat',
  compact: false,
  showThresholds: false,
  showLegend: true,
};

let root: Root | undefined;
let current: { theme: ReturnType<typeof createTheme>; props: Record<string, unknown> } | undefined;

function renderCurrent() {
  const { theme, props } = current!;
  root!.render(
    <ThemeContext.Provider value={theme}>
      <TopologyPanel {...(props as any)} />
    </ThemeContext.Provider>
  );
}

/** What the registered plugin declares: its component and its options with their defaults. */
function pluginInfo() {
  // Grafana's app registers the option editors at boot (grafana core, not an npm package); the
  // builder only needs their ids here.
  for (const id of ['radio', 'boolean']) {
    if (!standardEditorsRegistry.getIfExists(id)) {
      standardEditorsRegistry.register({ id, name: id, editor: () => null });
    }
  }
  const builder = new PanelOptionsEditorBuilder<TopologyOptions>();
  plugin.getPanelOptionsSupplier()(builder, { data: [] });
  return {
    panelIsShim: plugin.panel === TopologyPanel,
    options: builder.getItems().map((i) => ({ path: i.path, name: i.name, defaultValue: i.defaultValue })),
  };
}

/** The user switches Grafana's theme while the panel is shown. */
async function switchTheme(mode: 'dark' | 'light') {
  current!.theme = createTheme({ colors: { mode } });
  document.body.style.background = current!.theme.colors.background.primary;
  renderCurrent();
  await painted();
}

/** The panel container changes size, as when a dashboard panel is resized. */
async function resize(width: number, height: number) {
  current!.props = { ...current!.props, width, height };
  renderCurrent();
  await painted();
}

interface MountOptions {
  mode?: 'dark' | 'light';
  width?: number;
  height?: number;
  options?: Partial<TopologyOptions>;
}

async function mount(name: string, { mode = 'dark', width = 1100, height = 520, options = {} }: MountOptions = {}) {
  const theme = createTheme({ colors: { mode } });
  document.body.style.background = theme.colors.background.primary;
  const data: PanelData = { ...scenario(name), timeRange: getDefaultTimeRange() };
  const host = document.getElementById('root')!;
  root?.unmount();
  root = createRoot(host);
  const props = {
    id: 1,
    data,
    timeRange: data.timeRange,
    timeZone: 'utc',
    options: { ...defaults, ...options },
    fieldConfig: { defaults: {}, overrides: [] },
    transparent: false,
    width,
    height,
    renderCounter: 0,
    title: 'Pipeline',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables,
    onChangeTimeRange: () => {},
  };
  current = { theme, props };
  renderCurrent();
  // Drawn when there are nodes, a message, or the shim's failure notice.
  const start = performance.now();
  while (performance.now() - start < 10000) {
    const m = host.querySelector('.pht .message');
    if (host.querySelector('.pht .node, .pht .overview') || (m && m.textContent) || host.querySelector('[role=alert]')) {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`panel did not draw scenario ${name}`);
}

/** Resolves after the browser has painted the current DOM (next frame, then a task). */
const painted = () =>
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

const bench = {
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
    handOver(panel, data, defaults, theme);
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
    const { wasm, data, host, theme } = await benchInput(n);
    const panel = new wasm.TopologyPanel(host, () => {});
    handOver(panel, data, defaults, theme);
    panel.resize(1100, 520);
    panel.render();
    await painted();
    const plus = host.querySelector<HTMLButtonElement>('.pht button[data-act=in]')!;
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

/** Grafana palette colours of the theme, as CSS computes them, for the tests to compare. */
function colorOf(mode: 'dark' | 'light', name: string) {
  const theme = createTheme({ colors: { mode } });
  const el = document.createElement('div');
  el.style.color = name.startsWith('bg.') ? (theme.colors.background as any)[name.slice(3)] : theme.visualization.getColorByName(name);
  document.body.appendChild(el);
  const c = getComputedStyle(el).color;
  el.remove();
  return c;
}

Object.assign(window, { phTest: { mount, resize, switchTheme, wasmUrl, colorOf, pluginInfo }, phBench: bench });
