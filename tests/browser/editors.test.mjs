// The datasource's editors in real headless Chromium: the real ConfigEditor, QueryEditor and
// VariableQueryEditor with the real @grafana/data and @grafana/ui, filled in as a user would,
// checking what Grafana would save (settings JSON, query JSON) and what the user sees.
// Needs: /usr/bin/chromium, npm ci.
// Run: node --test tests/browser/editors.test.mjs   Screenshots: tests/output/editors/*.png
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { OUTPUT, buildPage, serve } from './editors/harness.mjs';
import { pageSession } from './page-harness.mjs';

const JOB_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SINK_VERTEX_ID = '6d2677a0ecc3fd8df0b72ec675edf8f4';

let page;
let pageErrors = [];

pageSession({
  output: OUTPUT,
  buildPage,
  serve,
  viewport: { width: 1000, height: 800 },
  onPage: (p) => {
    page = p;
    pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
  },
});

const call = (fn, ...args) => page.evaluate(([f, a]) => window.edTest[f](...a), [fn, args]);
const reported = () => call('reported');
const shot = (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
/** A RadioButtonGroup choice (its input lies over its label). */
const radio = (label) => page.getByRole('radio', { name: label, exact: true });
const isChecked = (label) => radio(label).isChecked();

/** Opens a Combobox and returns its options as the user reads them: label and description. */
async function openOptions(input) {
  await page.locator(input).click();
  await page.getByRole('option').first().waitFor();
  return (await page.getByRole('option').allInnerTexts()).map((t) => t.split('\n').filter(Boolean).join(' | '));
}

async function pick(input, label) {
  await page.locator(input).click();
  await page.getByRole('option').filter({ has: page.getByText(label, { exact: true }) }).click();
}

/** Types a value that is not in the list and confirms it, as a user does with a regex. */
async function typeCustom(input, text) {
  await page.locator(input).click();
  await page.locator(input).fill(text);
  await page.getByRole('option').filter({ hasText: 'Use as typed' }).waitFor();
  await page.keyboard.press('Enter');
}

function noCrash() {
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
}

describe('ConfigEditor', () => {
  test('Kafka over SASL_SSL and Flink with a bearer token: secrets saved only in secureJsonData', async () => {
    await call('mountConfig');
    // PLAINTEXT and no Flink auth: no credentials asked for.
    assert.equal(await page.getByLabel('SASL mechanism').count(), 0);
    assert.equal(await page.locator('#config-kafkaPassword, #config-kafkaTlsCaCert, #config-flinkBearerToken').count(), 0);
    assert.ok(await isChecked('PLAINTEXT'), 'PLAINTEXT is what an empty setting means');

    await page.getByLabel('Bootstrap servers').fill('kafka-1:9092,kafka-2:9092');
    await radio('SASL_SSL').click();
    await radio('SCRAM-SHA-512').click();
    await page.locator('#config-kafkaUsername').fill('svc-health');
    await page.locator('#config-kafkaPassword').fill('kafka-s3cret');
    assert.equal(await page.locator('#config-kafkaPassword').getAttribute('type'), 'password', 'typed password is masked');
    // SASL_SSL is TLS too: the certificate fields appear.
    for (const id of ['kafkaTlsCaCert', 'kafkaTlsClientCert', 'kafkaTlsClientKey']) {
      assert.ok(await page.locator(`#config-${id}`).isVisible(), `${id} shown for SASL_SSL`);
    }

    await page.getByLabel('Consumer groups').fill('enricher');
    await page.keyboard.press('Enter');

    await page.getByLabel('REST URL').fill('http://jobmanager:8081');
    await radio('Bearer token').click();
    await page.locator('#config-flinkBearerToken').fill('flink-t0ken');
    assert.equal(await page.locator('#config-flinkPassword').count(), 0, 'no Flink password with bearer auth');
    await page.getByLabel('Query timeout').fill('30');
    await page.getByLabel('Coalescing window').fill('0');
    await page.locator('#config-thresholds-lagWarning').fill('500');
    await shot('config-sasl-bearer');

    const { options } = await reported();
    assert.deepEqual(options.jsonData, {
      kafkaBootstrapServers: 'kafka-1:9092,kafka-2:9092',
      kafkaSecurityProtocol: 'SASL_SSL',
      kafkaSaslMechanism: 'SCRAM-SHA-512',
      kafkaUsername: 'svc-health',
      kafkaConsumerGroups: ['enricher'],
      flinkUrl: 'http://jobmanager:8081',
      flinkAuth: 'bearer',
      queryTimeoutSeconds: 30,
      coalesceWindowSeconds: 0,
      thresholds: { lagWarning: 500 },
    });
    assert.deepEqual(options.secureJsonData, { kafkaPassword: 'kafka-s3cret', flinkBearerToken: 'flink-t0ken' });
    const plain = JSON.stringify({ ...options, secureJsonData: undefined });
    assert.ok(!plain.includes('kafka-s3cret') && !plain.includes('flink-t0ken'), 'secrets appear nowhere else');
    noCrash();
  });

  test('stored secrets show as configured; Reset clears one so a new one can be typed', async () => {
    await call('mountConfig', {
      jsonData: { kafkaBootstrapServers: 'k:9092', kafkaSecurityProtocol: 'SASL_SSL', kafkaUsername: 'svc', flinkUrl: 'https://f:8081', flinkAuth: 'bearer' },
      secureJsonFields: { kafkaPassword: true, kafkaTlsCaCert: true, flinkBearerToken: true },
    });
    const password = page.locator('#config-kafkaPassword');
    assert.equal(await password.inputValue(), 'configured');
    assert.ok(await password.isDisabled(), 'a stored secret cannot be read or edited');
    assert.equal(await page.locator('#config-flinkBearerToken').inputValue(), 'configured');
    assert.equal(await page.getByRole('button', { name: 'Reset' }).count(), 3);
    await shot('config-stored-secrets');

    // The Reset next to the Kafka password.
    await password.locator('xpath=ancestor::div[.//button][1]').getByRole('button', { name: 'Reset' }).click();
    let { options } = await reported();
    assert.equal(options.secureJsonFields.kafkaPassword, false);
    assert.equal(options.secureJsonData.kafkaPassword, '');
    assert.equal(options.secureJsonFields.flinkBearerToken, true, 'the token stays configured');
    assert.ok(await password.isEnabled());
    assert.equal(await password.inputValue(), '');
    await password.fill('new-s3cret');
    ({ options } = await reported());
    assert.equal(options.secureJsonData.kafkaPassword, 'new-s3cret');
    assert.ok(!JSON.stringify(options.jsonData).includes('new-s3cret'));
    assert.equal(await page.getByRole('button', { name: 'Reset' }).count(), 2);
    noCrash();
  });

  test('mistakes the backend would refuse are shown next to the field', async () => {
    await call('mountConfig');
    await page.getByLabel('Bootstrap servers').fill('kafka-1:9092,nohost');
    await page.getByLabel('REST URL').fill('jobmanager:8081');
    await page.getByLabel('Query timeout').fill('900');
    await page.getByLabel('Coalescing window').fill('90');
    await radio('SSL').click();
    await page.locator('#config-kafkaTlsClientCert').fill('-----BEGIN CERTIFICATE-----');
    await page.locator('#config-thresholds-lagWarning').fill('20000');
    const valid = '{"jobs": [{"job": "orders-enrich", "topics": ["orders"]}]}';
    await page.getByLabel('Pipeline description').fill(valid);
    await page.getByLabel('Pipeline description').fill('{"jobs": [{"job": "orders-enrich", "topic": "orders"}]}');
    await shot('config-problems');

    const text = await page.locator('#root').innerText();
    for (const want of [
      '"nohost" is not host:port',
      '"jobmanager:8081" must start with http:// or https://',
      'The timeout must be between 0.1 and 300 seconds',
      'The window must be between 0 (every query refreshes on its own) and 60 seconds',
      'A client certificate and its key go together',
      'Lag warning (20000) is above lag critical (10000)',
      'Pipeline description: jobs[0]: unknown field "topic"',
    ]) {
      assert.ok(text.includes(want), `shows "${want}"`);
    }
    const { options } = await reported();
    assert.deepEqual(options.jsonData.pipeline, JSON.parse(valid), 'the last valid description is what is saved');
    noCrash();
  });
});

describe('QueryEditor', () => {
  test('a consumer lag query: type, group and topic picked from the loaded lists', async () => {
    await call('mountQuery', { queryType: 'topology' });
    assert.equal(await page.locator('#query-group-A, #query-topic-A, #query-job-A').count(), 0, 'topology has no fields');

    await pick('#query-type-A', 'Consumer lag');
    let r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'consumerLag', granularity: 'partition' });
    assert.deepEqual(r.runs, [], 'not run without a group');
    assert.ok(await page.getByText('Required', { exact: true }).isVisible(), 'the missing group is pointed out');
    assert.deepEqual(r.calls.sort(), ['/kafka/groups', '/kafka/topics']);

    const topics = await openOptions('#query-topic-A');
    assert.deepEqual(topics, ['orders | 4 partitions', 'orders.dlq | 1 partition', 'payments | 2 partitions', '$topic | Dashboard variable', '$job | Dashboard variable']);
    await shot('query-topic-dropdown');
    await page.getByRole('option').filter({ has: page.getByText('orders', { exact: true }) }).click();
    await pick('#query-group-A', 'enricher');
    r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'consumerLag', granularity: 'partition', topic: 'orders', group: 'enricher' });
    assert.equal(r.runs.length, 1, 'run once complete');
    assert.deepEqual(r.runs[0], r.query);
    assert.equal(await page.getByText('Required', { exact: true }).count(), 0);

    await typeCustom('#query-group-A', 'enrich.*');
    await radio('Topic').click();
    await shot('query-lag');
    r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'consumerLag', granularity: 'topic', topic: 'orders', group: 'enrich.*' });
    assert.deepEqual(r.runs.at(-1), r.query);
    noCrash();
  });

  test('a Flink query: job by name (its id saved), then its vertices', async () => {
    await call('mountQuery', { queryType: 'backpressure' });
    assert.deepEqual(await openOptions('#query-job-A'), [
      `orders-enrich | RUNNING · ${JOB_ID}`,
      'payments-audit | FAILED · 0f0e0d0c0b0a09080706050403020100',
      '$topic | Dashboard variable',
      '$job | Dashboard variable',
    ]);
    await page.getByRole('option').filter({ has: page.getByText('orders-enrich', { exact: true }) }).click();
    assert.equal(await page.locator('#query-job-A').inputValue(), 'orders-enrich', 'the name is shown');
    await pick('#query-vertex-A', 'Sink: JDBC');
    await shot('query-flink');
    let r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'backpressure', job: JOB_ID, vertex: SINK_VERTEX_ID });
    assert.ok(r.calls.includes(`/flink/jobs/${JOB_ID}/vertices`));
    assert.deepEqual(r.runs.at(-1), r.query);

    // Jobs reads no vertex: it goes from the query and the editor.
    await pick('#query-type-A', 'Jobs');
    r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'jobs', job: JOB_ID });
    assert.equal(await page.locator('#query-vertex-A').count(), 0);

    // A regex of names has no vertices to list, and nothing is asked for it.
    await pick('#query-type-A', 'Watermarks');
    const before = (await reported()).calls.length;
    await typeCustom('#query-job-A', 'orders-.*');
    r = await reported();
    assert.equal(r.query.job, 'orders-.*');
    assert.ok(r.calls.slice(before).every((p) => !p.includes('/vertices')), r.calls.join(','));
    noCrash();
  });

  test('Kafka down: the reason is shown and a typed group still makes a query', async () => {
    await call('mountQuery', { queryType: 'consumerLag' }, { backend: 'kafka-down' });
    const alert = page.getByRole('alert').filter({ hasText: 'Some lists could not be loaded' });
    await alert.waitFor();
    const text = await alert.innerText();
    assert.ok(text.includes('Could not load /kafka/groups: kafka resources: Kafka unreachable: kafka-1:9092 (timed out after 10s)'), text);
    assert.ok(text.includes('Could not load /kafka/topics: kafka resources: Kafka unreachable'), text);
    await typeCustom('#query-group-A', 'enricher');
    await shot('query-kafka-down');
    const r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'consumerLag', group: 'enricher' });
    assert.deepEqual(r.runs, [r.query]);
    noCrash();
  });

  test('groups Kafka would not list: the reason is shown, topics still offered', async () => {
    await call('mountQuery', { queryType: 'timeLag' }, { backend: 'groups-unlisted' });
    await page.getByText('Could not load /kafka/groups: Broker: Group authorization failed').waitFor();
    assert.equal((await openOptions('#query-topic-A'))[0], 'orders | 4 partitions');
    noCrash();
  });

  test("the datasource's groups stand in for a missing group", async () => {
    await call('mountQuery', { queryType: 'consumerLag' }, { defaults: { kafkaConsumerGroups: ['enricher'] } });
    await page.locator('#query-group-A').waitFor();
    assert.equal(await page.getByText('Required', { exact: true }).count(), 0);
    assert.equal(await page.locator('#query-group-A').getAttribute('placeholder'), "Datasource's groups");
    noCrash();
  });

  test('timeout and per-query thresholds, checked against the datasource thresholds', async () => {
    await call('mountQuery', { queryType: 'health' }, { defaults: { thresholds: { lagWarning: 100 } } });
    assert.equal(await page.locator('#query-metric-A').inputValue(), 'Status');
    await pick('#query-metric-A', 'Backpressure');
    assert.equal((await reported()).query.metric, 'backpressure');

    const timeout = page.locator('#query-timeout-A');
    await timeout.fill('500');
    await timeout.blur();
    assert.ok(await page.getByText('The timeout must be between 0.1 and 300 seconds').isVisible());
    let r = await reported();
    const runsBefore = r.runs.length;
    assert.equal(r.query.timeoutSeconds, 500);
    await timeout.fill('30');
    await timeout.blur();
    r = await reported();
    assert.equal(r.runs.length, runsBefore + 1, 'run when a valid timeout is left');
    assert.equal(r.runs.at(-1).timeoutSeconds, 30);

    assert.equal(await page.locator('#query-thresholds-A-lagCritical').count(), 0, 'thresholds start collapsed');
    await page.getByText('Thresholds', { exact: true }).click();
    const lagWarning = page.locator('#query-thresholds-A-lagWarning');
    assert.equal(await lagWarning.getAttribute('placeholder'), '100', "empty shows the datasource's value");
    await page.locator('#query-thresholds-A-lagCritical').fill('50');
    await page.getByText('Lag warning (100) is above lag critical (50)').waitFor();
    assert.ok(await page.getByText('Thresholds (1 overridden)').isVisible());
    await shot('query-thresholds');
    r = await reported();
    assert.deepEqual(r.query, { refId: 'A', queryType: 'health', metric: 'backpressure', timeoutSeconds: 30, thresholds: { lagCritical: 50 } });
    noCrash();
  });
});

describe('QueryEditor, live', () => {
  test('Live on: the interval appears, is checked like the backend checks it, and is saved', async () => {
    await call('mountQuery', { queryType: 'topology' });
    const live = page.locator('#query-live-A');
    assert.equal(await page.locator('#query-live-interval-A').count(), 0, 'no interval while off');
    await live.click({ force: true });
    let r = await reported();
    assert.equal(r.query.live, true);
    assert.equal(r.runs.at(-1).live, true, 'switching it on runs the query, now live');
    const every = page.locator('#query-live-interval-A');
    assert.equal(await every.getAttribute('placeholder'), '10', 'the default interval');
    await every.fill('0.5');
    await every.blur();
    assert.ok(await page.getByText('The interval must be between 1 and 3600 seconds').isVisible());
    const runsBefore = (await reported()).runs.length;
    await every.fill('5');
    await every.blur();
    r = await reported();
    assert.equal(r.runs.length, runsBefore + 1, 'run when a valid interval is left');
    assert.deepEqual(r.query, { refId: 'A', queryType: 'topology', live: true, liveIntervalSeconds: 5 });
    await shot('query-live');
    noCrash();
  });
});

describe('VariableQueryEditor', () => {
  test('a new variable lists topics; choosing Flink jobs saves that', async () => {
    await call('mountVariable');
    await radio('Flink jobs').waitFor();
    let r = await reported();
    assert.deepEqual(r.variable, [{ query: { resource: 'topics' }, definition: 'Pipeline Health: Kafka topics' }]);
    assert.ok(await isChecked('Kafka topics'));
    await radio('Flink jobs').click();
    await shot('variable');
    r = await reported();
    assert.deepEqual(r.variable.at(-1), { query: { resource: 'jobs' }, definition: 'Pipeline Health: Flink jobs' });
    assert.ok(await page.getByText('the job name is shown, its id is the value').isVisible());
    noCrash();
  });

  test('a saved variable shows its list and is not changed by opening it', async () => {
    await call('mountVariable', { resource: 'groups' });
    await radio('Consumer groups').waitFor();
    assert.ok(await isChecked('Consumer groups'));
    assert.deepEqual((await reported()).variable, []);
    noCrash();
  });

  test("the datasource's metricFindQuery answers with the chosen list", async () => {
    assert.deepEqual(await call('variableValues', 'jobs'), {
      values: [
        { text: 'orders-enrich', value: JOB_ID },
        { text: 'payments-audit', value: '0f0e0d0c0b0a09080706050403020100' },
      ],
    });
    assert.deepEqual(await call('variableValues', 'topics'), {
      values: ['orders', 'orders.dlq', 'payments'].map((t) => ({ text: t, value: t })),
    });
    assert.deepEqual(await call('variableValues', 'groups', 'groups-unlisted'), {
      error: '/kafka/groups: Broker: Group authorization failed',
    });
    noCrash();
  });
});
