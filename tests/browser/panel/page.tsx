// Test page: mounts the real panel component (panel/shim/TopologyPanel.tsx) with real
// @grafana/data frames and themes and the real @grafana/ui, and the benchmark entry points.
import {
  type DataFrame,
  getDefaultTimeRange,
  type PanelData,
  type ScopedVars,
  ThemeContext,
  createTheme,
  EventBusSrv,
  PanelOptionsEditorBuilder,
  standardEditorsRegistry,
} from '@grafana/data';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { type TopologyOptions } from '../../../panel/shim/handoff';
import { plugin } from '../../../panel/shim/module';
import { TopologyPanel } from '../../../panel/shim/TopologyPanel';
import { wasmUrl } from '../../../panel/shim/wasm';
import { bench, painted } from './bench';
import { defaultOptions } from './fixtures';
import { scenario } from './scenarios';

/** Stands in for Grafana's template service: `${__data.fields.x}` from the link's data context. */
function replaceVariables(value: string, scoped?: ScopedVars): string {
  const ctx = (scoped?.__dataContext?.value ?? {}) as { frame?: DataFrame; rowIndex?: number };
  return value.replace(/\$\{__data\.fields\.([\w]+)\}/g, (_, name) => {
    const field = ctx.frame?.fields.find((f) => f.name === name);
    const v = field && ctx.rowIndex !== undefined ? field.values[ctx.rowIndex] : '';
    return encodeURIComponent(String(v ?? ''));
  });
}


let root: Root | undefined;
let current: { theme: ReturnType<typeof createTheme>; panels: Array<Record<string, unknown>> } | undefined;

/** The mounted panels side by side, as on a dashboard row. */
function renderCurrent() {
  const { theme, panels } = current!;
  root!.render(
    <ThemeContext.Provider value={theme}>
      <div style={{ display: 'flex', gap: 8 }}>
        {panels.map((props, i) => (
          <div key={i} data-panel={i}>
            <TopologyPanel {...(props as any)} />
          </div>
        ))}
      </div>
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

/** Re-renders with `change` applied to every panel's props (or to panel `only`). */
async function update(change: (props: Record<string, unknown>) => Record<string, unknown>, only?: number) {
  current!.panels = current!.panels.map((p, i) => (only === undefined || only === i ? change(p) : p));
  renderCurrent();
  await painted();
}

/** The user switches Grafana's theme while the panel is shown. */
async function switchTheme(mode: 'dark' | 'light') {
  current!.theme = createTheme({ colors: { mode } });
  document.body.style.background = current!.theme.colors.background.primary;
  renderCurrent();
  await painted();
}

/** The panel container changes size, as when a dashboard panel is resized. */
const resize = (width: number, height: number) => update((p) => ({ ...p, width, height }));

/** The dashboard refreshes: new frames (of scenario `name`) for the panels, as a new object. */
const refresh = (name: string, only?: number) => update((p) => ({ ...p, data: panelData(name) }), only);

const panelData = (name: string): PanelData => ({ ...scenario(name), timeRange: getDefaultTimeRange() });

interface PanelSetup {
  width?: number;
  height?: number;
  options?: Partial<TopologyOptions>;
}

interface MountOptions extends PanelSetup {
  mode?: 'dark' | 'light';
}

function panelProps(id: number, data: PanelData, { width = 1100, height = 520, options = {} }: PanelSetup) {
  return {
    id,
    data,
    timeRange: data.timeRange,
    timeZone: 'utc',
    options: { ...defaultOptions, ...options },
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
}

/** Mounts one panel per entry of `setups`, side by side, all showing scenario `name`. */
async function mountAll(name: string, setups: PanelSetup[], mode: 'dark' | 'light' = 'dark') {
  const theme = createTheme({ colors: { mode } });
  document.body.style.background = theme.colors.background.primary;
  const host = document.getElementById('root')!;
  root?.unmount();
  root = createRoot(host);
  current = { theme, panels: setups.map((s, i) => panelProps(i + 1, panelData(name), s)) };
  renderCurrent();
  // Drawn when each panel shows nodes, a message, or the shim's failure notice.
  const drawn = (el: Element) => {
    const m = el.querySelector('.pht .message');
    return !!(el.querySelector('.pht .node, .pht .overview') || (m && m.textContent) || el.querySelector('[role=alert]'));
  };
  const start = performance.now();
  while (performance.now() - start < 10000) {
    const panels = [...host.querySelectorAll('[data-panel]')];
    if (panels.length === setups.length && panels.every(drawn)) {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`panel did not draw scenario ${name}`);
}

const mount = (name: string, { mode = 'dark', ...setup }: MountOptions = {}) => mountAll(name, [setup], mode);

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

Object.assign(window, { phTest: { mount, mountAll, refresh, resize, switchTheme, wasmUrl, colorOf, pluginInfo }, phBench: bench });
