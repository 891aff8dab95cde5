// Test page: mounts the datasource's real editors (backend/frontend/src) with the real
// @grafana/data and @grafana/ui in Grafana's dark theme, the way Grafana hosts them: controlled
// by the page, which keeps what they report. The backend is a fake getResource answering with the
// shapes backend/src/plugin/resource.rs returns.
import { createTheme, type DataSourceInstanceSettings, ThemeContext } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { GlobalStyles, PortalContainer } from '@grafana/ui';
import React, { useState, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { ConfigEditor } from '../../../backend/frontend/src/ConfigEditor';
import { DataSource, type EditorSource } from '../../../backend/frontend/src/datasource';
import { QueryEditor } from '../../../backend/frontend/src/QueryEditor';
import type { QueryDefaults } from '../../../backend/frontend/src/queries';
import type { Settings } from '../../../backend/frontend/src/secrets';
import type { PipelineQuery, VariableQuery, VariableResource } from '../../../backend/frontend/src/types';
import { VariableQueryEditor } from '../../../backend/frontend/src/VariableQueryEditor';

const JOB_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const ANSWERS: Record<string, unknown> = {
  '/kafka/topics': {
    topics: [
      { name: 'orders', partitions: 4 },
      { name: 'orders.dlq', partitions: 1 },
      { name: 'payments', partitions: 2 },
    ],
  },
  '/kafka/groups': {
    groups: [
      { name: 'enricher', state: 'Stable', members: 2 },
      { name: 'audit', state: 'Empty', members: 0 },
    ],
    source: 'listGroups+describeGroups',
  },
  '/flink/jobs': {
    jobs: [
      { id: JOB_ID, name: 'orders-enrich', state: 'RUNNING' },
      { id: '0f0e0d0c0b0a09080706050403020100', name: 'payments-audit', state: 'FAILED' },
    ],
  },
  [`/flink/jobs/${JOB_ID}/vertices`]: {
    vertices: [
      { id: 'cbc357ccb763df2852fee8c4fc7d55f2', name: 'Source: orders' },
      { id: '90bea66de1c231edf33913ecd54406c1', name: 'Enrich with customers' },
      { id: '6d2677a0ecc3fd8df0b72ec675edf8f4', name: 'Sink: JDBC' },
    ],
  },
};

/** How Grafana's backendSrv rejects a resource call the backend answered with an error. */
const fetchError = (status: number, error: string) => ({ status, statusText: 'Bad Gateway', data: { error } });

/** What the fake backend is like: all fine, Kafka down, or Kafka refusing to list groups. */
type Backend = 'ok' | 'kafka-down' | 'groups-unlisted';

function answer(backend: Backend, path: string): unknown {
  if (backend === 'kafka-down' && path.startsWith('/kafka/')) {
    throw fetchError(502, 'kafka resources: Kafka unreachable: kafka-1:9092 (timed out after 10s)');
  }
  if (backend === 'groups-unlisted' && path === '/kafka/groups') {
    return { groups: [], source: 'none', error: 'Broker: Group authorization failed' };
  }
  if (!(path in ANSWERS)) {
    throw fetchError(404, `no resource at \`${path}\``);
  }
  return ANSWERS[path];
}

const calls: string[] = [];

function fakeSource(backend: Backend, queryDefaults?: QueryDefaults): EditorSource {
  return {
    queryDefaults,
    getResource(path: string) {
      calls.push(path);
      // Answers arrive later, as over the network.
      return new Promise((ok, fail) =>
        setTimeout(() => {
          try {
            ok(answer(backend, path));
          } catch (e) {
            fail(e);
          }
        }, 40)
      );
    },
  };
}

// Grafana's template service as far as the editors use it: the dashboard's variables.
setTemplateSrv({
  getVariables: () => [{ name: 'topic' }, { name: 'job' }],
  replace: (target: string) => target,
  containsTemplate: (target?: string) => Boolean(target?.includes('$')),
  updateTimeRange: () => {},
} as unknown as TemplateSrv);

const theme = createTheme({ colors: { mode: 'dark' } });

/** What the mounted editor reported: saved settings, query, query runs, variable changes. */
const reported: {
  options?: Settings;
  query?: PipelineQuery;
  runs: PipelineQuery[];
  variable: Array<{ query: VariableQuery; definition: string }>;
} = { runs: [], variable: [] };

let root: Root | undefined;

function mount(editor: ReactNode) {
  document.body.style.background = theme.colors.background.primary;
  root?.unmount();
  root = createRoot(document.getElementById('root')!);
  root.render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <PortalContainer />
      <div style={{ width: 960, padding: 16 }}>{editor}</div>
    </ThemeContext.Provider>
  );
}

function reset() {
  calls.length = 0;
  reported.options = undefined;
  reported.query = undefined;
  reported.runs = [];
  reported.variable = [];
}

const BLANK_SETTINGS = {
  id: 1,
  uid: 'pipeline',
  orgId: 1,
  name: 'Pipeline Health',
  type: 'pipelinehealth-kafkaflink-datasource',
  typeName: 'Pipeline Health',
  typeLogoUrl: '',
  access: 'proxy',
  url: '',
  user: '',
  database: '',
  basicAuth: false,
  basicAuthUser: '',
  isDefault: false,
  readOnly: false,
  withCredentials: false,
  jsonData: {},
  secureJsonFields: {},
} as unknown as Settings;

function ControlledConfig({ initial }: { initial: Settings }) {
  const [options, setOptions] = useState(initial);
  return (
    <ConfigEditor
      options={options}
      onOptionsChange={(next) => {
        reported.options = next;
        setOptions(next);
      }}
    />
  );
}

function ControlledQuery({ initial, source }: { initial: PipelineQuery; source: EditorSource }) {
  const [query, setQuery] = useState(initial);
  return (
    <QueryEditor
      query={query}
      datasource={source}
      onChange={(next) => {
        reported.query = next;
        setQuery(next);
      }}
      onRunQuery={() => reported.runs.push(reported.query ?? query)}
    />
  );
}

function ControlledVariable({ initial }: { initial?: VariableQuery }) {
  const [query, setQuery] = useState(initial);
  return (
    <VariableQueryEditor
      query={query}
      onChange={(next, definition) => {
        reported.variable.push({ query: next, definition });
        setQuery(next);
      }}
    />
  );
}

interface QueryMount {
  backend?: Backend;
  defaults?: QueryDefaults;
}

const edTest = {
  JOB_ID,
  mountConfig(settings: Partial<Settings> = {}) {
    reset();
    mount(<ControlledConfig initial={{ ...BLANK_SETTINGS, ...settings }} />);
  },
  mountQuery(query: Partial<PipelineQuery>, { backend = 'ok', defaults }: QueryMount = {}) {
    reset();
    mount(<ControlledQuery initial={{ refId: 'A', ...query }} source={fakeSource(backend, defaults)} />);
  },
  mountVariable(query?: VariableQuery) {
    reset();
    mount(<ControlledVariable initial={query} />);
  },
  /** A copy of what the editor reported, as Grafana would save it (JSON). */
  reported: () => JSON.parse(JSON.stringify({ ...reported, calls })),
  /** The real DataSource's metricFindQuery, its resource call answered by the fake backend. */
  async variableValues(resource: VariableResource, backend: Backend = 'ok') {
    const ds = new DataSource({ id: 1, uid: 'pipeline', jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings);
    const source = fakeSource(backend);
    ds.getResource = (path: string) => source.getResource(path) as Promise<any>;
    try {
      return { values: await ds.metricFindQuery({ resource }) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  },
};

Object.assign(window, { edTest });
