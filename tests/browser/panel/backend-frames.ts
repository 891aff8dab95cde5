// The topology frames the backend really answered on the bed (written by the bed's fault tests,
// tests/src/panel_fixtures.rs), turned into DataFrames with @grafana/data as Grafana would, and
// what Grafana's own formatting makes of their numbers (what the built-in Node Graph shows).
import {
  type DataFrame,
  type DataFrameDTO,
  type DataFrameJSON,
  StreamingDataFrame,
  createTheme,
  dataFrameToJSON,
  formattedValueToString,
  getDisplayProcessor,
  toDataFrame,
} from '@grafana/data';

import { LIVE_STREAM_OPTIONS } from '../../../backend/frontend/src/live';

import { FRAMES, HEALTH_COLORS, NODE_FIELDS } from '../../../panel/shim/generated/contract';
import brokerDown from './fixtures/backend/roas-broker-down.json';
import healthy from './fixtures/backend/roas-healthy.json';
import live from './fixtures/backend/roas-live.json';
import sinkBlocked from './fixtures/backend/roas-sink-blocked.json';
import slowOperator from './fixtures/backend/roas-slow-operator.json';

const FIXTURES: Record<string, unknown> = {
  'roas-healthy': healthy,
  'roas-slow-operator': slowOperator,
  'roas-sink-blocked': sinkBlocked,
  'roas-broker-down': brokerDown,
};

export const BACKEND_SCENARIOS = Object.keys(FIXTURES);

export function backendFrames(name: string): DataFrame[] {
  const dtos = FIXTURES[name];
  if (!dtos) {
    throw new Error(`no backend fixture ${name}; there are ${BACKEND_SCENARIOS.join(', ')}`);
  }
  return (dtos as DataFrameDTO[]).map((dto) => toDataFrame(dto));
}

/**
 * A live topology query on the bed (`bed_pipeline::live`): its first answer, then the first
 * `pushes` of what the plugin pushed over Grafana Live applied as Grafana applies them, each
 * to the frame of its channel through StreamingDataFrame with the datasource's stream options.
 */
export function liveFrames(pushes: number): DataFrame[] {
  const recorded = live as unknown as { answer: DataFrameDTO[]; pushes: DataFrameJSON[] };
  return recorded.answer.map((dto) => {
    const frame = toDataFrame(dto);
    const mine = recorded.pushes.slice(0, pushes).filter((p) => p.schema?.name === frame.name);
    if (!mine.length) {
      return frame;
    }
    const streamed = StreamingDataFrame.fromDataFrameJSON(dataFrameToJSON(frame), LIVE_STREAM_OPTIONS);
    mine.forEach((p) => streamed.push(p));
    return streamed;
  });
}

/** One node as the frame says it, with its headline numbers as Grafana formats them. */
export interface FrameNode {
  id: string;
  title: string;
  subtitle: string;
  kind: string;
  health: string;
  reason: string;
  bottleneck: boolean;
  victim: boolean;
  mainstat: string;
  secondarystat: string;
  /** Every `detail__*` number of the node but the reason: [display name, Grafana's text]. */
  details: Array<[string, string]>;
}

export function frameNodes(name: string): { nodes: FrameNode[]; meta: Record<string, unknown> } {
  const frame = backendFrames(name).find((f) => f.name === FRAMES.NODES);
  if (!frame) {
    throw new Error(`fixture ${name} has no nodes frame`);
  }
  const theme = createTheme();
  const field = (n: string) => frame.fields.find((f) => f.name === n);
  const text = (n: string, row: number) => {
    const f = field(n);
    const v = f?.values[row];
    if (!f || v == null) {
      return '';
    }
    return formattedValueToString(getDisplayProcessor({ field: f, theme })(v));
  };
  const nodes = Array.from({ length: frame.length }, (_, row) => ({
    id: String(field(NODE_FIELDS.ID)?.values[row]),
    title: String(field(NODE_FIELDS.TITLE)?.values[row]),
    subtitle: String(field(NODE_FIELDS.SUBTITLE)?.values[row] ?? ''),
    kind: String(field(NODE_FIELDS.KIND)?.values[row]),
    health: String(field(NODE_FIELDS.HEALTH)?.values[row]),
    reason: String(field(NODE_FIELDS.REASON)?.values[row] ?? ''),
    bottleneck: !!field(NODE_FIELDS.BOTTLENECK)?.values[row],
    victim: !!field(NODE_FIELDS.VICTIM)?.values[row],
    mainstat: text(NODE_FIELDS.MAINSTAT, row),
    secondarystat: text(NODE_FIELDS.SECONDARYSTAT, row),
    details: frame.fields
      .filter((f) => f.name.startsWith(NODE_FIELDS.DETAIL_PREFIX) && f.type === 'number' && f.values[row] != null)
      .map((f): [string, string] => [f.config.displayName ?? f.name, text(f.name, row)]),
  }));
  return { nodes, meta: (frame.meta?.custom ?? {}) as Record<string, unknown> };
}

/** The Grafana palette name a health state is drawn in (the model's HEALTH_COLORS). */
const paletteOf = (health: string) => HEALTH_COLORS.find((c) => c.health === health)?.palette;

Object.assign(window, { phBackend: { scenarios: BACKEND_SCENARIOS, frameNodes, paletteOf } });
