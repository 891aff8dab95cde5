// The datasource editors' pure logic (backend/frontend/src/queries.ts and secrets.ts), bundled
// for Node with esbuild: what a query sends after template variables, which fields a query type
// keeps and needs, how resource answers are read, and how settings and secrets are updated.
// Run: node --test tests/browser/editors-logic.test.mjs
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { loadLogic } from './editors/harness.mjs';

let q, s;

before(async () => {
  ({ queries: q, secrets: s } = await loadLogic());
});

/**
 * Grafana's templateSrv.replace as far as the datasource relies on it: `$name` and `${name}` are
 * replaced by the variable's value, passed through `format` when one is given; without one, a
 * multi-value variable becomes Grafana's default glob `{a,b}`.
 */
function fakeReplace(variables) {
  const calls = [];
  const replace = (target, scopedVars, format) => {
    calls.push({ target, scopedVars });
    return target.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced, plain) => {
      const name = braced ?? plain;
      const value = scopedVars?.[name]?.value ?? variables[name];
      if (value === undefined) {
        return whole;
      }
      if (typeof format === 'function') {
        return format(value);
      }
      return Array.isArray(value) ? `{${value.join(',')}}` : value;
    });
  };
  return { replace, calls };
}

/** The backend anchors every name filter like this (kafka/query.rs, flink/query.rs). */
const anchored = (pattern) => new RegExp(`^(?:${pattern})$`);

describe('template variables', () => {
  test('a variable value is a literal name inside the regex fields', () => {
    const { replace } = fakeReplace({ topic: 'orders.v1', job: 'Enrich (orders)', vertex: 'Sink: JDBC [pg]' });
    const out = q.interpolateQuery(
      { refId: 'A', queryType: 'backpressure', topic: '$topic', job: '${job}', vertex: '$vertex' },
      replace
    );
    assert.equal(out.topic, 'orders\\.v1');
    assert.equal(out.job, 'Enrich \\(orders\\)');
    assert.ok(anchored(out.topic).test('orders.v1'));
    assert.ok(!anchored(out.topic).test('ordersXv1'), 'the dot is not a wildcard');
    assert.ok(anchored(out.job).test('Enrich (orders)'));
    assert.ok(anchored(out.vertex).test('Sink: JDBC [pg]'));
  });

  test('a multi-value variable becomes an alternation matching exactly its values', () => {
    const { replace } = fakeReplace({ group: ['enricher', 'audit.v2'], job: ['a1', 'b2'] });
    const out = q.interpolateQuery({ refId: 'A', group: '$group', job: '$job' }, replace);
    assert.equal(out.group, '(enricher|audit\\.v2)');
    assert.equal(out.job, '(a1|b2)', 'job ids too: not the {a,b} glob, which the backend would reject as a regex');
    const re = anchored(out.group);
    assert.ok(re.test('enricher') && re.test('audit.v2'));
    assert.ok(!re.test('audit-v2') && !re.test('enricher-old'));
    assert.equal(q.regexFormat(['only.one']), 'only\\.one', 'one value needs no group');
  });

  test('text around a variable is the user regex and stays as typed; other fields are untouched', () => {
    const { replace, calls } = fakeReplace({ env: 'prod' });
    const query = { refId: 'A', queryType: 'consumerLag', topic: '$env\\..*', group: 'enricher', timeoutSeconds: 5 };
    const scoped = { env: { text: 'staging', value: 'staging' } };
    const out = q.interpolateQuery(query, replace, scoped);
    assert.equal(out.topic, 'staging\\..*', 'scoped variables (repeated panels) win');
    assert.equal(out.group, 'enricher');
    assert.equal(out.timeoutSeconds, 5);
    assert.ok(!('job' in out), 'absent fields stay absent');
    assert.equal(query.topic, '$env\\..*', 'the saved query is not changed');
    assert.ok(calls.every((c) => c.scopedVars === scoped));
  });
});

describe('query types and their fields', () => {
  const lag = {
    refId: 'A',
    queryType: 'consumerLag',
    group: 'enricher',
    topic: 'orders',
    granularity: 'topic',
    timeoutSeconds: 20,
    thresholds: { lagCritical: 5 },
  };

  test('changing the type drops the fields the new type does not read, keeps timeout and thresholds', () => {
    const graph = q.changeQueryType({ ...lag, job: 'leftover' }, 'jobGraph');
    assert.deepEqual(graph, { refId: 'A', queryType: 'jobGraph', job: 'leftover', timeoutSeconds: 20, thresholds: { lagCritical: 5 } });
    const topology = q.changeQueryType(graph, 'topology');
    assert.ok(!('job' in topology), 'the topology query reads no job');
    assert.equal(q.changeQueryType(topology, 'health').metric, 'status');
    assert.equal(q.changeQueryType(topology, 'consumerLag').granularity, 'partition');
    assert.ok(!('granularity' in q.changeQueryType(lag, 'timeLag')), 'time lag is per group and topic only');
    assert.equal(q.changeQueryType({ ...lag, queryType: 'jobs' }, 'consumerLag').granularity, 'topic', 'a chosen granularity is kept');
  });

  test('a new job forgets the vertex of the old one', () => {
    const withVertex = { refId: 'A', queryType: 'watermarks', job: 'j1', vertex: 'v1' };
    assert.equal(q.withJob(withVertex, 'j1').vertex, 'v1');
    assert.ok(!('vertex' in q.withJob(withVertex, 'j2')));
    assert.ok(!('job' in q.withJob(withVertex, undefined)));
  });

  test('missing fields are named; the datasource groups stand in for a lag query group', () => {
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'jobGraph' }), ['job']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'jobGraph', job: '   ' }), ['job']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'consumerLag' }), ['group']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'consumerLag' }, { kafkaConsumerGroups: ['enricher'] }), []);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', timeoutSeconds: 0 }), ['timeoutSeconds']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', timeoutSeconds: 301 }), ['timeoutSeconds']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', timeoutSeconds: 300 }), []);
    // A live interval counts only when the query is live (LIVE_INTERVAL_SECONDS, 1 to 3600).
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', live: true, liveIntervalSeconds: 0.5 }), ['liveIntervalSeconds']);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', live: true, liveIntervalSeconds: 3600 }), []);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'topology', live: false, liveIntervalSeconds: 0.5 }), []);
    assert.deepEqual(q.missingFields({ refId: 'A', queryType: 'lagg' }), ['queryType']);
    assert.equal(q.isRunnable({ refId: 'A', queryType: 'jobs' }), true);
    assert.equal(q.isRunnable({ refId: 'A', queryType: 'jobs', hide: true }), false);
  });
});

describe('resource answers', () => {
  test('topics and groups: the backend objects, plain strings, and junk left out', () => {
    const topics = { topics: [{ name: 'orders', partitions: 4 }, 'legacy', { partitions: 1 }, 7, { name: 'dlq', partitions: 1 }] };
    assert.deepEqual(q.parseNames(topics, 'topics', '/kafka/topics'), ['orders', 'legacy', 'dlq']);
    assert.deepEqual(q.parseNamedItems(topics, 'topics', '/kafka/topics'), [
      { name: 'orders', description: '4 partitions' },
      { name: 'legacy' },
      { name: 'dlq', description: '1 partition' },
    ]);
    const groups = { groups: [{ name: 'enricher', state: 'Stable', members: 2 }], source: 'listGroups+describeGroups' };
    assert.deepEqual(q.parseNamedItems(groups, 'groups', '/kafka/groups'), [{ name: 'enricher', description: 'Stable, 2 members' }]);
    assert.throws(() => q.parseNames({ error: 'x' }, 'topics', '/kafka/topics'), /\/kafka\/topics answered without a "topics" list/);
  });

  test('groups Kafka would not list: the reason reaches the user instead of an empty list', () => {
    const unlisted = { groups: [], source: 'none', error: 'Broker: Group authorization failed' };
    assert.equal(q.answerError(unlisted), 'Broker: Group authorization failed');
    assert.equal(q.answerError({ groups: [] }), undefined);
    assert.throws(() => q.variableValues('groups', unlisted), /\/kafka\/groups: Broker: Group authorization failed/);
  });

  test('variable values: names for Kafka, job names with their ids as values for Flink', () => {
    assert.deepEqual(q.variableValues('topics', { topics: [{ name: 'orders', partitions: 4 }] }), [{ text: 'orders', value: 'orders' }]);
    assert.deepEqual(q.variableValues('jobs', { jobs: [{ id: 'ab12', name: 'enrich', state: 'RUNNING' }, { name: 'no id' }] }), [
      { text: 'enrich', value: 'ab12' },
    ]);
  });

  test('only a Flink job id has vertices to load', () => {
    assert.ok(q.isJobId('a1b2c3d4e5f60718293a4b5c6d7e8f90'));
    assert.ok(!q.isJobId('orders-.*'));
    assert.ok(!q.isJobId('$job'));
    assert.ok(!q.isJobId(undefined));
    assert.equal(q.verticesPath('a1b2'), '/flink/jobs/a1b2/vertices');
  });

  test('a failed resource call is one line naming the path and the backend reason', () => {
    const grafanaFetchError = { status: 502, statusText: 'Bad Gateway', data: { error: 'Kafka unreachable: kafka-1:9092' } };
    assert.equal(q.resourceErrorMessage('/kafka/topics', grafanaFetchError), 'Could not load /kafka/topics: Kafka unreachable: kafka-1:9092');
    assert.equal(q.resourceErrorMessage('/flink/jobs', new Error('timeout')), 'Could not load /flink/jobs: timeout');
    assert.equal(q.resourceErrorMessage('/flink/jobs', { status: 500, statusText: 'Internal Server Error' }), 'Could not load /flink/jobs: Internal Server Error');
  });
});

describe('settings and secrets', () => {
  const settings = () => ({
    jsonData: { flinkUrl: 'http://f:8081' },
    secureJsonFields: { kafkaPassword: true, flinkBearerToken: true },
    secureJsonData: {},
  });

  test('a secret can never be written to jsonData', () => {
    const before = settings();
    assert.throws(() => s.setJsonField(before, 'kafkaPassword', 'hunter2'), /kafkaPassword is a secret and belongs in secureJsonData/);
    assert.throws(() => s.setJsonField(before, 'flinkBearerToken', 't'), /secureJsonData/);
    assert.deepEqual(before, settings(), 'nothing changed');
  });

  test('plain fields go to jsonData, secrets to secureJsonData, without changing the input', () => {
    const before = settings();
    const set = s.setJsonField(before, 'kafkaUsername', 'svc');
    assert.equal(set.jsonData.kafkaUsername, 'svc');
    assert.ok(!('flinkUrl' in s.setJsonField(before, 'flinkUrl', undefined).jsonData), 'undefined removes the key');
    const secret = s.setSecret(before, 'kafkaPassword', 'hunter2');
    assert.equal(secret.secureJsonData.kafkaPassword, 'hunter2');
    assert.ok(!JSON.stringify(secret.jsonData).includes('hunter2'));
    assert.deepEqual(before, settings());
  });

  test('reset forgets one stored secret so a new one can be typed', () => {
    const reset = s.resetSecret(settings(), 'kafkaPassword');
    assert.equal(reset.secureJsonFields.kafkaPassword, false);
    assert.equal(reset.secureJsonData.kafkaPassword, '');
    assert.equal(reset.secureJsonFields.flinkBearerToken, true, 'the other secrets stay');
    assert.equal(s.isSecretConfigured(reset, 'kafkaPassword'), false);
    assert.equal(s.hasSecret(reset, 'kafkaPassword'), false);
    assert.equal(s.hasSecret(s.setSecret(reset, 'kafkaPassword', 'new'), 'kafkaPassword'), true);
  });

  test('Kafka servers and the Flink URL are checked as the backend checks them', () => {
    assert.equal(s.bootstrapServersProblem('kafka-1:9092, kafka-2:9093'), undefined);
    assert.equal(s.bootstrapServersProblem(''), undefined);
    assert.match(s.bootstrapServersProblem('kafka-1:9092,nohost'), /"nohost" is not host:port/);
    assert.match(s.bootstrapServersProblem(':9092'), /is not host:port/);
    assert.match(s.bootstrapServersProblem('k:99999'), /is not host:port/);
    assert.equal(s.flinkUrlProblem('https://jobmanager:8081'), undefined);
    assert.match(s.flinkUrlProblem('jobmanager:8081'), /must start with http:\/\/ or https:\/\//);
    assert.equal(s.coalesceWindowProblem(undefined), undefined);
    assert.equal(s.coalesceWindowProblem(0), undefined, '0 turns coalescing off');
    assert.equal(s.coalesceWindowProblem(60), undefined);
    assert.match(s.coalesceWindowProblem(61), /between 0 \(every query refreshes on its own\) and 60 seconds/);
  });

  test('typed numbers: empty is unset, anything else must be a number of at least 0', () => {
    assert.deepEqual(s.parseNumberInput('  '), {});
    assert.deepEqual(s.parseNumberInput(' 2.5 '), { value: 2.5 });
    assert.match(s.parseNumberInput('-1').error, /not a non-negative number/);
    assert.match(s.parseNumberInput('ten').error, /not a non-negative number/);
  });
});

describe('thresholds', () => {
  test('consistent values have no problems', () => {
    assert.deepEqual(s.thresholdProblems(undefined), []);
    assert.deepEqual(s.thresholdProblems({ lagWarning: 10, lagCritical: 100, heapCritical: 1 }), []);
  });

  test('ratios above 1 and a warning above its critical are named', () => {
    assert.deepEqual(s.thresholdProblems({ backpressureCritical: 80 }), ['Backpressure critical is a ratio between 0 and 1, got 80']);
    assert.deepEqual(s.thresholdProblems({ lagWarning: 500, lagCritical: 100 }), ['Lag warning (500) is above lag critical (100)']);
    assert.deepEqual(s.thresholdProblems({ checkpointAgeFactor: 0 }), ['Checkpoint age factor must be more than 0']);
  });

  test('a single value is checked against what applies to the empty fields', () => {
    // The default lag critical is 10000: the backend refuses these settings.
    assert.deepEqual(s.thresholdProblems({ lagWarning: 20000 }), ['Lag warning (20000) is above lag critical (10000)']);
    // A query override is checked against the datasource's own thresholds.
    assert.deepEqual(s.thresholdProblems({ lagWarning: 20000 }, { lagCritical: 50000 }), []);
    assert.deepEqual(s.thresholdProblems({ lagCritical: 50 }, { lagWarning: 100 }), ['Lag warning (100) is above lag critical (50)']);
  });

  test('withThreshold sets and removes one value; none left is no override', () => {
    assert.deepEqual(s.withThreshold(undefined, 'lagWarning', 5), { lagWarning: 5 });
    assert.equal(s.withThreshold({ lagWarning: 5 }, 'lagWarning', undefined), undefined);
  });
});

describe('pipeline description', () => {
  test('empty is no description; a valid one is parsed', () => {
    assert.deepEqual(s.parsePipeline('  '), {});
    const text = '{"jobs": [{"job": "enrich", "topics": ["orders"], "group": "enricher", "sinks": [{"vertex": "Sink", "database": "pg"}]}]}';
    assert.deepEqual(s.parsePipeline(text), { value: JSON.parse(text) });
  });

  test('errors say what is wrong and where', () => {
    assert.match(s.parsePipeline('{"jobs": [').error, /^Invalid JSON: /);
    assert.equal(s.parsePipeline('[1]').error, 'The pipeline description must be a JSON object');
    assert.equal(s.parsePipeline('{"job": "x"}').error, 'Pipeline description: unknown field "job" (expected "jobs")');
    assert.equal(s.parsePipeline('{"jobs": {}}').error, 'Pipeline description: "jobs" must be a list');
    assert.equal(s.parsePipeline('{"jobs": [{"topics": []}]}').error, "Pipeline description: jobs[0].job must be the job's name or id");
    assert.equal(s.parsePipeline('{"jobs": [{"job": "j", "topic": "t"}]}').error, 'Pipeline description: jobs[0]: unknown field "topic"');
    assert.match(s.parsePipeline('{"jobs": [{"job": "j", "sinks": [{"vertex": "v"}]}]}').error, /jobs\[0\]\.sinks\[0\] must be/);
  });
});
