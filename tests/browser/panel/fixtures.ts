// Frames in the shape the datasource's `topology` query returns (nodes + edges, Node Graph
// shape with our extras), built with the real @grafana/data constructors.
import { type DataFrame, FieldType, toDataFrame } from '@grafana/data';

import { type TopologyOptions } from '../../../panel/shim/handoff';

/** The panel's options as module.ts declares their defaults. */
export const defaultOptions: TopologyOptions = {
  orientation: 'LR',
  mainStat: 'mainstat',
  compact: false,
  showThresholds: false,
  showLegend: true,
  flinkJobs: 'auto',
};

export interface NodeRow {
  id: string;
  title: string;
  subtitle?: string;
  kind: string;
  health: 'ok' | 'warning' | 'critical' | 'unknown';
  reason?: string;
  mainstat: number;
  secondarystat: number;
  bottleneck?: boolean;
  lagSeconds?: number;
}

export interface EdgeRow {
  source: string;
  target: string;
  mainstat: number;
}

const arcs = (h: NodeRow['health']) => ({
  ok: h === 'ok' ? 1 : 0,
  warning: h === 'warning' ? 1 : 0,
  critical: h === 'critical' ? 1 : 0,
  unknown: h === 'unknown' ? 1 : 0,
});

export const LINK_TITLE = 'Open the Kafka dashboard';

export function topologyFrames(nodes: NodeRow[], edges: EdgeRow[], withLinks = true): DataFrame[] {
  const meta = { preferredVisualisationType: 'nodeGraph' as const };
  const num = (name: string, values: number[], config: object = {}) => ({ name, type: FieldType.number, values, config });
  const str = (name: string, values: string[], config: object = {}) => ({ name, type: FieldType.string, values, config });
  const nodesFrame = toDataFrame({
    name: 'nodes',
    meta,
    fields: [
      str(
        'id',
        nodes.map((n) => n.id),
        withLinks ? { links: [{ title: LINK_TITLE, url: '/d/kafka-overview?var-node=${__data.fields.id}' }] } : {}
      ),
      str('title', nodes.map((n) => n.title)),
      str('subtitle', nodes.map((n) => n.subtitle ?? '')),
      num('mainstat', nodes.map((n) => n.mainstat), {
        displayName: 'Throughput',
        unit: 'short',
        decimals: 1,
        thresholds: {
          mode: 'absolute',
          steps: [
            { value: -Infinity, color: 'green' },
            { value: 10000, color: 'red' },
          ],
        },
      }),
      num('secondarystat', nodes.map((n) => n.secondarystat), { displayName: 'Lag', unit: 'short' }),
      num('arc__ok', nodes.map((n) => arcs(n.health).ok), { color: { mode: 'fixed', fixedColor: 'green' } }),
      num('arc__warning', nodes.map((n) => arcs(n.health).warning), { color: { mode: 'fixed', fixedColor: 'orange' } }),
      num('arc__critical', nodes.map((n) => arcs(n.health).critical), { color: { mode: 'fixed', fixedColor: 'red' } }),
      num('arc__unknown', nodes.map((n) => arcs(n.health).unknown), { color: { mode: 'fixed', fixedColor: 'gray' } }),
      str('color', nodes.map(() => '')),
      num('detail__lag_seconds', nodes.map((n) => n.lagSeconds ?? 0), { displayName: 'Time lag', unit: 's' }),
      str('kind', nodes.map((n) => n.kind)),
      str('health', nodes.map((n) => n.health)),
      str('reason', nodes.map((n) => n.reason ?? '')),
      { name: 'bottleneck', type: FieldType.boolean, values: nodes.map((n) => !!n.bottleneck), config: {} },
    ],
  });
  const edgesFrame = toDataFrame({
    name: 'edges',
    meta,
    fields: [
      str('id', edges.map((e) => `${e.source}->${e.target}`)),
      str('source', edges.map((e) => e.source)),
      str('target', edges.map((e) => e.target)),
      num('mainstat', edges.map((e) => e.mainstat), { displayName: 'Rate', unit: 'short', decimals: 0 }),
    ],
  });
  return [nodesFrame, edgesFrame];
}

/** A Kafka -> Flink -> Postgres pipeline whose consumer group is the bottleneck. */
export function orderPipeline(topicTitle = 'orders') {
  const nodes: NodeRow[] = [
    { id: 'topic:orders', title: topicTitle, kind: 'kafka-topic', health: 'ok', mainstat: 1250, secondarystat: 0 },
    {
      id: 'group:enricher',
      title: 'enricher',
      kind: 'consumer-group',
      health: 'critical',
      reason: 'Lag 48000 messages and growing for 10 min',
      mainstat: 310,
      secondarystat: 48000,
      bottleneck: true,
      lagSeconds: 312,
    },
    { id: 'flink:source', title: 'Source: orders', kind: 'flink-source', health: 'ok', mainstat: 310, secondarystat: 0 },
    {
      id: 'flink:enrich',
      title: 'Enrich with customers',
      kind: 'flink-operator',
      health: 'warning',
      reason: 'Busy 92% of the time',
      mainstat: 310,
      secondarystat: 0,
    },
    { id: 'flink:sink', title: 'Sink: JDBC', kind: 'flink-sink', health: 'ok', mainstat: 305, secondarystat: 0 },
    { id: 'db:pg', title: 'postgres.orders_enriched', kind: 'database', health: 'unknown', mainstat: 305, secondarystat: 0 },
    { id: 'topic:payments', title: 'payments', kind: 'kafka-topic', health: 'ok', mainstat: 20000, secondarystat: 0 },
  ];
  const edges: EdgeRow[] = [
    { source: 'topic:orders', target: 'group:enricher', mainstat: 1250 },
    { source: 'group:enricher', target: 'flink:source', mainstat: 310 },
    { source: 'flink:source', target: 'flink:enrich', mainstat: 310 },
    { source: 'flink:enrich', target: 'flink:sink', mainstat: 310 },
    { source: 'flink:sink', target: 'db:pg', mainstat: 305 },
    { source: 'topic:payments', target: 'flink:enrich', mainstat: 20000 },
  ];
  return { nodes, edges };
}

/** The same pipeline a refresh later: the same nodes and edges, every number changed. */
export function tickedPipeline() {
  const p = orderPipeline();
  for (const n of p.nodes) {
    n.mainstat += 17;
    n.secondarystat = n.secondarystat ? n.secondarystat + 4000 : 0;
  }
  for (const e of p.edges) {
    e.mainstat += 17;
  }
  return p;
}

/** The pipeline a refresh later with one more consumer group, reading the payments topic. */
export function grownPipeline() {
  const p = orderPipeline();
  p.nodes.push({ id: 'group:audit', title: 'audit', kind: 'consumer-group', health: 'ok', mainstat: 20000, secondarystat: 12 });
  p.edges.push({ source: 'topic:payments', target: 'group:audit', mainstat: 20000 });
  return p;
}

const KINDS = ['kafka-topic', 'consumer-group', 'flink-source', 'flink-operator', 'flink-operator', 'flink-operator', 'flink-sink', 'database'];

/** `n` nodes in chains of 8 (topic -> group -> source -> 3 operators -> sink -> database), each
 * chain also reading the previous chain's topic and writing the previous chain's database, the
 * same shape as the layout unit tests. Deterministic. */
export function syntheticPipeline(n: number) {
  const nodes: NodeRow[] = [];
  const edges: EdgeRow[] = [];
  const healths: NodeRow['health'][] = ['ok', 'ok', 'ok', 'ok', 'ok', 'warning', 'ok', 'critical', 'ok', 'unknown'];
  for (let i = 0; i < n; i++) {
    nodes.push({
      id: `n${i}`,
      title: `${KINDS[i % 8]}-${i}`,
      kind: KINDS[i % 8],
      health: healths[(i * 7) % healths.length],
      reason: 'synthetic',
      mainstat: (i * 37) % 5000,
      secondarystat: (i * 13) % 900,
      bottleneck: i === 9,
    });
  }
  const chain = 8;
  let i = 0;
  for (; i + chain <= n; i += chain) {
    for (let k = 0; k < chain - 1; k++) {
      edges.push({ source: `n${i + k}`, target: `n${i + k + 1}`, mainstat: i + k });
    }
    if (i >= chain) {
      edges.push({ source: `n${i - chain}`, target: `n${i + 1}`, mainstat: 1 });
      edges.push({ source: `n${i + chain - 2}`, target: `n${i - 1}`, mainstat: 2 });
    }
  }
  for (let k = i; k < n; k++) {
    if (k > 0) {
      edges.push({ source: `n${k - 1}`, target: `n${k}`, mainstat: 3 });
    }
  }
  return { nodes, edges };
}
