// Hands Grafana's data to the wasm panel: frames column by column (numbers with Grafana's own
// display text and threshold colours), the theme's colours and the options. No layout or
// drawing logic lives here.
import {
  type DataFrame,
  type Field,
  FieldType,
  formattedValueToString,
  getDisplayProcessor,
  getLinksSupplier,
  type GrafanaTheme2,
  type InterpolateFunction,
  type LinkModel,
  type PanelData,
} from '@grafana/data';

import { EDGE_FIELDS, FRAMES, HEALTH_COLORS, NODE_FIELDS } from './generated/contract';
import type { WasmPanel } from './wasm';

export interface TopologyOptions {
  orientation: 'LR' | 'TB';
  mainStat: typeof NODE_FIELDS.MAINSTAT | typeof NODE_FIELDS.SECONDARYSTAT;
  compact: boolean;
  showThresholds: boolean;
  showLegend: boolean;
  /** 'auto': one card per Flink job when every vertex would not fit readable; 'jobs'; 'vertices'. */
  flinkJobs?: 'auto' | 'jobs' | 'vertices';
}

/** Fields that are fractions or flags, never shown as text: no need to format them. */
const unformatted = (name: string) => name.startsWith(NODE_FIELDS.ARC_PREFIX) || name === NODE_FIELDS.BOTTLENECK;

export function queryError(data: PanelData): string | undefined {
  const errors = [...(data.errors ?? []), ...(data.error ? [data.error] : [])];
  const fromFrames = data.series.flatMap((f) =>
    (f.meta?.notices ?? []).filter((n) => n.severity === 'error').map((n) => n.text)
  );
  const messages = [...errors.map((e) => e.message || e.data?.message || 'unknown error'), ...fromFrames];
  return messages.length ? Array.from(new Set(messages)).join('; ') : undefined;
}

function handField(p: WasmPanel, field: Field, theme: GrafanaTheme2) {
  const label = field.config?.displayName || field.name;
  const values: unknown[] = Array.from(field.values ?? []);
  const numeric = field.type === FieldType.number || field.type === FieldType.boolean;
  if (!numeric) {
    p.add_text_field(field.name, label, values.map((v) => (v == null ? '' : String(v))));
    return;
  }
  const nums = new Float64Array(values.map((v) => (v == null ? NaN : typeof v === 'boolean' ? +v : Number(v))));
  if (unformatted(field.name) || field.type === FieldType.boolean) {
    p.add_number_field(field.name, label, nums, [], []);
    return;
  }
  const display = field.display ?? getDisplayProcessor({ field, theme });
  const texts: string[] = [];
  const colors: string[] = [];
  for (const v of values) {
    if (v == null) {
      texts.push('');
      colors.push('');
      continue;
    }
    const shown = display(v);
    texts.push(formattedValueToString(shown));
    colors.push(shown.color ?? '');
  }
  p.add_number_field(field.name, label, nums, texts, colors);
}

/** The nodes frame as the wasm side picks it (for threshold steps and links). */
export function nodesFrame(series: DataFrame[]): DataFrame | undefined {
  const has = (f: DataFrame, n: string) => f.fields.some((x) => x.name === n);
  return (
    series.find((f) => f.name === FRAMES.NODES && f.fields.length) ??
    series.find((f) => has(f, NODE_FIELDS.ID) && !(has(f, EDGE_FIELDS.SOURCE) && has(f, EDGE_FIELDS.TARGET)))
  );
}

function thresholdSteps(frame: DataFrame | undefined, statName: string, theme: GrafanaTheme2) {
  const field = frame?.fields.find((f) => f.name === statName);
  const steps = field?.config?.thresholds?.steps ?? [];
  const display = field ? (field.display ?? getDisplayProcessor({ field, theme })) : undefined;
  return {
    labels: steps.map((s) =>
      s.value == null || s.value === -Infinity ? 'Base' : display ? formattedValueToString(display(s.value)) : String(s.value)
    ),
    colors: steps.map((s) => theme.visualization.getColorByName(s.color)),
  };
}

/** Everything the panel needs for one render. */
export function handOver(p: WasmPanel, data: PanelData, options: TopologyOptions, theme: GrafanaTheme2) {
  p.clear_data();
  const error = queryError(data);
  if (error) {
    p.set_error(error);
  }
  for (const frame of data.series) {
    p.add_frame(frame.name ?? '');
    for (const [key, value] of Object.entries(frame.meta?.custom ?? {})) {
      if (value != null) {
        p.add_frame_meta(key, (Array.isArray(value) ? value : [value]).map(String));
      }
    }
    for (const field of frame.fields) {
      handField(p, field, theme);
    }
  }
  const c = theme.colors;
  p.set_theme(theme.isDark, [
    c.background.primary,
    c.background.secondary,
    c.text.primary,
    c.text.secondary,
    c.border.medium,
    c.primary.main,
    // Grafana palette names of ok, warning, critical, unknown, resolved in the current theme.
    ...HEALTH_COLORS.map((c) => theme.visualization.getColorByName(c.palette)),
  ]);
  p.set_options(
    options.orientation ?? 'LR',
    options.mainStat ?? NODE_FIELDS.MAINSTAT,
    !!options.compact,
    !!options.showThresholds,
    options.showLegend ?? true
  );
  p.set_flink_jobs(options.flinkJobs ?? 'auto');
  const nodes = nodesFrame(data.series);
  const steps = thresholdSteps(nodes, options.mainStat ?? NODE_FIELDS.MAINSTAT, theme);
  p.set_thresholds(steps.labels, steps.colors);
  p.set_has_links(!!nodes?.fields.some((f) => (f.config?.links?.length ?? 0) > 0));
}

/** Data links of one node (every field's links, resolved for its row). */
export function nodeLinks(frame: DataFrame | undefined, row: number, replaceVariables: InterpolateFunction): LinkModel[] {
  if (!frame) {
    return [];
  }
  const seen = new Set<string>();
  const links: LinkModel[] = [];
  for (const field of frame.fields) {
    if (!field.config?.links?.length) {
      continue;
    }
    const supplier = field.getLinks ?? getLinksSupplier(frame, field, {}, replaceVariables);
    for (const link of supplier({ valueRowIndex: row })) {
      const key = `${link.title}|${link.href}`;
      if (!seen.has(key)) {
        seen.add(key);
        links.push(link);
      }
    }
  }
  return links;
}
