// The test page's scenarios: the frames (or error) each `mount(name)` draws.
import { FieldType, LoadingState, type PanelData, toDataFrame } from '@grafana/data';

import { backendFrames, liveFrames } from './backend-frames';
import { grownPipeline, orderPipeline, syntheticPipeline, tickedPipeline, topologyFrames } from './fixtures';

export function scenario(name: string): Pick<PanelData, 'series' | 'errors' | 'state'> {
  const done = LoadingState.Done;
  switch (name) {
    case 'pipeline': {
      const p = orderPipeline();
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
    case 'pipeline-ticked': {
      const p = tickedPipeline();
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
    case 'pipeline-grown': {
      const p = grownPipeline();
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
      if (name.startsWith('backend:')) {
        return { series: backendFrames(name.slice('backend:'.length)), state: done };
      }
      if (name.startsWith('live:')) {
        return { series: liveFrames(Number(name.slice('live:'.length))), state: done };
      }
      const n = Number(name.replace('synthetic:', ''));
      const p = syntheticPipeline(n);
      return { series: topologyFrames(p.nodes, p.edges), state: done };
    }
  }
}
