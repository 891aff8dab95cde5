// The Pipeline Topology panel in real headless Chromium: the real shim component with real
// @grafana/data frames and themes and the real @grafana/ui, drawing with the real .wasm.
// Needs: panel/build.sh (panel/pkg/), /usr/bin/chromium, npm ci.
// Run: node --test tests/browser/panel.test.mjs   Screenshots: tests/output/panel/*.png
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { panelSession } from './panel/session.mjs';

let page;
const { dialogs, mount, shot, colorOf, node, messageText, noCrash } = panelSession((p) => {
  page = p;
});

/** The jobs control: every Flink vertex as its own card (they start as one card per job when
 * the whole pipeline would not fit at a readable size). */
const showVertices = () => page.locator('.pht .controls button[data-act=jobs]').click();

describe('the plugin', () => {
  test('module.ts registers the panel with its options and the wasm URL under the plugin', async () => {
    const info = await page.evaluate(() => window.phTest.pluginInfo());
    assert.ok(info.panelIsShim);
    assert.deepEqual(
      info.options.map((o) => [o.path, o.defaultValue]),
      [
        ['orientation', 'LR'],
        ['mainStat', 'mainstat'],
        ['flinkJobs', 'auto'],
        ['compact', false],
        ['showThresholds', false],
        ['showLegend', true],
      ]
    );
    assert.equal(
      await page.evaluate(() => window.phTest.wasmUrl()),
      '/public/plugins/pipelinehealth-topology-panel/pipeline_panel_bg.wasm'
    );
  });
});

describe('drawing the topology', () => {
  test('nodes, edges, health colours, bottleneck and legend', async () => {
    await mount('pipeline');
    await shot('pipeline-dark');
    assert.equal(await page.locator('.pht .node').count(), 5, 'the Flink job as one card');
    await showVertices();
    await shot('pipeline-dark-vertices');
    assert.equal(await page.locator('.pht .node').count(), 7);
    assert.equal(await page.locator('.pht path.edge[data-e]').count(), 6);
    const titles = await page.locator('.pht .node .title').allTextContents();
    assert.ok(titles.includes('enricher') && titles.includes('Sink: JDBC'), titles.join(','));
    // Edge labels are the edges' mainstat as Grafana formats it.
    const labels = await page.locator('.pht .elabel').allTextContents();
    assert.ok(labels.includes('310') && labels.includes('20 K'), labels.join(','));

    const enricher = node('enricher');
    assert.match(await enricher.getAttribute('class'), /h-critical/);
    assert.match(await enricher.getAttribute('class'), /bottleneck/);
    assert.equal(await enricher.locator('.badge').textContent(), 'ROOT CAUSE');
    const red = await colorOf('dark', 'red');
    const stroke = await enricher.locator('.card').evaluate((e) => getComputedStyle(e).stroke);
    assert.equal(stroke, red, 'critical node outlined in Grafana red');
    const green = await colorOf('dark', 'green');
    const stripe = await node('Sink: JDBC').locator('.stripe').evaluate((e) => getComputedStyle(e).fill);
    assert.equal(stripe, green, 'healthy node striped in Grafana green');
    const orange = await colorOf('dark', 'orange');
    const warn = await node(/^Enrich with/).locator('.stripe').evaluate((e) => getComputedStyle(e).fill);
    assert.equal(warn, orange);
    assert.equal(await page.locator('.pht .node .badge').count(), 1, 'one bottleneck');

    // Layered left to right: every edge goes from a node to one further right.
    const box = async (t) => node(t).boundingBox();
    const [topic, group, sink, db] = await Promise.all(['orders', 'enricher', 'Sink: JDBC', /^postgres/].map(box));
    assert.ok(topic.x < group.x && group.x < sink.x && sink.x < db.x);

    const legend = await page.locator('.pht .legend').textContent();
    assert.match(legend, /ok 4/);
    assert.match(legend, /critical 1/);
    assert.match(legend, /root cause/);
    assert.equal(
      await page.locator('.pht .caption').innerText(),
      'ROOT CAUSE enricher: Lag 48000 messages and growing for 10 min'
    );
    noCrash();
  });

  test('plain Node Graph frames (numeric ids, arcs, unnamed frames) are drawn too', async () => {
    await mount('nodegraph');
    await shot('node-graph-frames');
    assert.equal(await page.locator('.pht .node').count(), 3);
    assert.equal(await page.locator('.pht path.edge[data-e]').count(), 2);
    assert.match(await node('frontend').getAttribute('class'), /h-ok/);
    assert.match(await node('api').getAttribute('class'), /h-critical/, 'half critical arc: critical');
    assert.equal(await node('api').locator('.main').textContent(), '40 ms', 'no label for a field without a display name');
    noCrash();
  });

  test('a 500-node pipeline: overview first, full cards on zoom', async () => {
    await mount('synthetic:500', { height: 600 });
    await shot('synthetic-500-overview');
    // Zoomed out, cards are drawn as coloured rectangles, one path per health state.
    const overview = page.locator('.pht .overview');
    assert.equal(await overview.getAttribute('data-nodes'), '500');
    const rects = await overview.evaluate((g) =>
      [...g.querySelectorAll('path[class^=ov-]:not(.ov-bn)')].reduce((n, p) => n + p.getAttribute('d').split('M').length - 1, 0)
    );
    assert.equal(rects, 500);
    const red = await colorOf('dark', 'red');
    assert.equal(await overview.locator('.ov-critical').evaluate((e) => getComputedStyle(e).fill), red);
    assert.equal(await page.locator('.pht .node').count(), 0);
    // Hover works on the overview too (hit-tested on the layout).
    const box = await page.evaluate(() => {
      const vp = document.querySelector('.pht g.viewport').getBoundingClientRect();
      return { x: vp.left + vp.width / 2, y: vp.top + vp.height / 2 };
    });
    for (let dx = 0; dx < 200 && !(await page.locator('.pht .tooltip').isVisible()); dx += 3) {
      await page.mouse.move(box.x + dx, box.y);
    }
    assert.ok(await page.locator('.pht .tooltip').isVisible(), 'a tooltip over the overview');
    assert.match(await page.locator('.pht .hint').innerText(), /Zoom in to read/);
    for (let i = 0; i < 16 && (await page.locator('.pht .node').count()) === 0; i++) {
      await page.locator('.pht .controls button[data-act=in]').click();
    }
    await shot('synthetic-500-zoomed');
    // Cards are drawn in full for what is in (or near) view, not for all 500.
    const full = await page.locator('.pht .node').count();
    assert.ok(full > 10 && full < 500, `${full} full cards`);
    const svg = await page.locator('.pht svg.graph').boundingBox();
    const visible = await page.locator('.pht .node .card').evaluateAll(
      (cards, b) => cards.filter((c) => { const r = c.getBoundingClientRect(); return r.right > b.x && r.left < b.x + b.width && r.bottom > b.y && r.top < b.y + b.height; }).length,
      svg
    );
    assert.ok(visible > 10, 'the cards in view are full cards');
    assert.equal(await page.locator('.pht .node .title').count(), full);
    // Panning far brings more full cards.
    await page.mouse.move(svg.x + svg.width - 50, svg.y + svg.height - 50);
    await page.mouse.down();
    await page.mouse.move(svg.x + 50, svg.y + 50, { steps: 4 });
    await page.mouse.up();
    assert.ok((await page.locator('.pht .node').count()) > full, 'more cards after panning');
    noCrash();
  });
});

describe('interaction', () => {
  test('hover shows each number once and the reason', async () => {
    await mount('pipeline');
    await node('enricher').hover();
    const tip = page.locator('.pht .tooltip');
    await tip.waitFor({ state: 'visible' });
    await shot('tooltip');
    const text = await tip.innerText();
    for (const want of [
      'enricher',
      'Consumer group',
      'CRITICAL · root cause',
      'Lag 48000 messages and growing for 10 min',
      'Throughput',
      '310',
      'Lag',
      '48 K',
      'Time lag',
      '5.20 mins',
      'Click for links',
    ]) {
      assert.ok(text.includes(want), `tooltip lacks "${want}":\n${text}`);
    }
    assert.ok(!text.includes('critical 100%'), 'a share of one state is the health again');
    // Edge hover names both ends and the rate.
    await page.locator('.pht .elabel', { hasText: '20 K' }).hover();
    await page.waitForFunction(() => document.querySelector('.pht .tooltip').innerText.includes('payments →'));
    await page.mouse.move(5, 5);
    await tip.waitFor({ state: 'hidden' });
    noCrash();
  });

  test('click opens the node data links, resolved for that node', async () => {
    await mount('pipeline');
    await node('enricher').click();
    const item = page.getByRole('menuitem', { name: 'Open the Kafka dashboard' });
    await item.waitFor();
    await shot('links-menu');
    const href = await item.evaluate((e) => e.closest('a')?.getAttribute('href') ?? e.getAttribute('href'));
    assert.equal(decodeURIComponent(href), '/d/kafka-overview?var-node=group:enricher');
    noCrash();
  });

  test('zoom, pan and fit change the view; a pan is not a click', async () => {
    await mount('pipeline');
    const vp = page.locator('.pht g.viewport');
    const before = await vp.getAttribute('transform');
    const scale = (t) => Number(/scale\(([\d.]+)\)/.exec(t)[1]);
    const svg = await page.locator('.pht svg.graph').boundingBox();
    await page.mouse.move(svg.x + svg.width / 2, svg.y + svg.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction((b) => document.querySelector('.pht g.viewport').getAttribute('transform') !== b, before);
    assert.ok(scale(await vp.getAttribute('transform')) > scale(before), 'wheel up zooms in');

    const zoomed = await vp.getAttribute('transform');
    // Drag from a node in view: a pan, and not a click on that node.
    const view = await page.evaluate(() => {
      const inside = [...document.querySelectorAll('.pht .node')].map((n) => n.getBoundingClientRect())
        .find((r) => r.left > 0 && r.right < 1100 && r.top > 0 && r.bottom < 500);
      return inside && { x: inside.left + 30, y: inside.top + 20 };
    });
    assert.ok(view, 'a node is in view after zooming');
    await page.mouse.move(view.x, view.y);
    await page.mouse.down();
    await page.mouse.move(view.x + 100, view.y + 50, { steps: 5 });
    await page.mouse.up();
    assert.notEqual(await vp.getAttribute('transform'), zoomed, 'drag pans');
    assert.equal(await page.getByRole('menuitem').count(), 0, 'a drag that starts on a node opens no menu');
    await shot('zoomed-panned');

    await page.locator('.pht .controls button[data-act=fit]').click();
    assert.equal(await vp.getAttribute('transform'), before, 'fit restores the whole view');
    noCrash();
  });

  test('resizing the panel resizes and refits the drawing', async () => {
    await mount('pipeline', { width: 1100, height: 500 });
    const scale = async () => Number(/scale\(([\d.]+)\)/.exec(await page.locator('.pht g.viewport').getAttribute('transform'))[1]);
    const wide = await scale();
    await page.evaluate(() => window.phTest.resize(500, 300));
    assert.equal(await page.locator('.pht svg.graph').getAttribute('width'), '500');
    const narrow = await scale();
    assert.ok(narrow < wide, `smaller panel, smaller drawing (${narrow} < ${wide})`);
    // Too small for all of it at a readable size: readable, and the rest a drag away.
    assert.ok(narrow >= 11 / 12 - 1e-4, `text stays readable (${narrow})`);
    assert.match(await page.locator('.pht .hint').innerText(), /Drag to see the rest/);
    await shot('resized-small');
    noCrash();
  });
});

describe('themes and options', () => {
  test('dark and light follow the Grafana theme', async () => {
    await mount('pipeline', { mode: 'light' });
    await shot('pipeline-light');
    const lightCard = await node('orders').locator('.card').evaluate((e) => getComputedStyle(e).fill);
    const lightText = await node('orders').locator('.title').evaluate((e) => getComputedStyle(e).fill);
    assert.equal(lightCard, await colorOf('light', 'bg.secondary'));
    await mount('pipeline', { mode: 'dark' });
    const darkCard = await node('orders').locator('.card').evaluate((e) => getComputedStyle(e).fill);
    const darkText = await node('orders').locator('.title').evaluate((e) => getComputedStyle(e).fill);
    assert.equal(darkCard, await colorOf('dark', 'bg.secondary'));
    assert.notEqual(lightCard, darkCard);
    assert.notEqual(lightText, darkText);
    const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0);
    assert.ok(lum(lightCard) > lum(darkCard) && lum(lightText) < lum(darkText));

    // Switching the theme while the panel is shown redraws it in the new colours.
    await page.evaluate(() => window.phTest.switchTheme('light'));
    await shot('theme-switched-to-light');
    assert.equal(await node('orders').locator('.card').evaluate((e) => getComputedStyle(e).fill), lightCard);
    assert.equal(
      await node('enricher').locator('.stripe').evaluate((e) => getComputedStyle(e).fill),
      await colorOf('light', 'red')
    );
    noCrash();
  });

  test('top-to-bottom orientation, compact cards, secondary as main stat, thresholds', async () => {
    await mount('pipeline', {
      options: { orientation: 'TB', compact: true, mainStat: 'secondarystat', showThresholds: true },
      height: 620,
    });
    await shot('options-tb-compact-thresholds');
    const [topic, group] = await Promise.all([node('orders').boundingBox(), node('enricher').boundingBox()]);
    assert.ok(topic.y < group.y && Math.abs(topic.x - group.x) < 2, 'flows downwards');
    assert.equal(await page.locator('.pht .node .sub').count(), 0, 'compact cards have no subtitle');
    const h = await node('orders').locator('.card').boundingBox();
    assert.equal(await node('enricher').locator('.main .v').textContent(), '48 K', 'secondary stat shown large');
    assert.doesNotMatch(await page.locator('.pht .legend').textContent(), /thresholds/, 'the lag field has none');

    await mount('pipeline', { options: { showThresholds: true } });
    assert.match(await page.locator('.pht .legend').textContent(), /thresholds:\s*Base\s*10\.0 K/);
    const full = await node('orders').locator('.card').boundingBox();
    assert.ok(h.height < full.height, 'compact cards are smaller');
    const red = await colorOf('dark', 'red');
    const fill = await node('payments').locator('.main').evaluate((e) => getComputedStyle(e).fill);
    assert.equal(fill, red, '20 K is over the 10 K threshold: red');
    noCrash();
  });
});

describe('bad input', () => {
  test('names are text, never HTML', async () => {
    await mount('xss');
    await shot('xss-as-text');
    const title = await page.locator('.pht .node .title').first().textContent();
    assert.ok(title.startsWith('<img src=x'), title);
    assert.equal(await page.locator('.pht img, .pht script').count(), 0);
    await page.locator('.pht .node').first().hover();
    const tip = await page.locator('.pht .tooltip').innerText();
    assert.ok(tip.includes('<img src=x onerror=alert(1)>'), tip);
    await node('enricher').hover();
    assert.ok((await page.locator('.pht .tooltip').innerText()).includes('<script>window.__pwned = true</script>'));
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    noCrash();
  });

  test('no data says so', async () => {
    await mount('empty');
    await shot('no-data');
    assert.match(await messageText(), /^No data\. This panel draws the Topology query/);
    assert.equal(await page.locator('.pht .node').count(), 0);
    noCrash();
  });

  test('a query error is shown, not a blank panel', async () => {
    await mount('error');
    await shot('query-error');
    assert.equal(
      await messageText(),
      'The query failed: Flink REST API at http://flink:8081 answered 503 Service Unavailable'
    );
    assert.match(await page.locator('.pht .message').getAttribute('class'), /error/);
    noCrash();
  });

  test('an error notice on a frame is shown as the error', async () => {
    await mount('error-frame');
    await shot('error-frame');
    assert.equal(await messageText(), 'The query failed: Kafka bootstrap servers unreachable: kafka-1:9092');
    noCrash();
  });

  test('frames of the wrong shape name what was found', async () => {
    await mount('malformed');
    await shot('malformed-frames');
    const msg = await messageText();
    assert.match(msg, /^Cannot draw these frames: no nodes frame/);
    assert.ok(msg.includes('"A" (time, value)'), msg);
    noCrash();
  });

  test('edges to missing nodes are dropped with a warning, the rest is drawn', async () => {
    await mount('malformed-edges');
    await shot('dangling-edge');
    assert.equal(await page.locator('.pht .node').count(), 7);
    assert.equal(await page.locator('.pht path.edge[data-e]').count(), 1);
    assert.match(await page.locator('.pht .warnings').textContent(), /1 edge\(s\) .* group:enricher -> no-such-node/);
    noCrash();
  });
});
