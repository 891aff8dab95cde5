// The topology panel on a live dashboard, in real headless Chromium with the real shim and
// @grafana/data frames: refreshes keep the user's zoom, pan, tooltip and the nodes' places, and
// two panels on one page keep their own styles and arrow markers.
// Needs: panel/build.sh (panel/pkg/), /usr/bin/chromium, npm ci.
// Run: node --test tests/browser/panel-live.test.mjs   Screenshots: tests/output/panel/live-*.png
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { panelSession } from './panel/session.mjs';

/** What `bed_pipeline::live` recorded: the live query's answer and the pushes that followed. */
const LIVE_FIXTURE = new URL('./panel/fixtures/backend/roas-live.json', import.meta.url);

let page;
// Wide enough for two panels side by side, each showing full cards.
const { mount, shot, node, noCrash } = panelSession(
  (p) => {
    page = p;
  },
  { name: 'www-live', viewport: { width: 2400, height: 700 } }
);

/** Every Flink vertex as a card: these tests follow the nodes' places, not the jobs. */
const VERTICES = { flinkJobs: 'vertices' };
const refresh = (scenario, only) => page.evaluate(([s, o]) => window.phTest.refresh(s, o), [scenario, only]);
const mountAll = (scenario, setups) => page.evaluate(([s, o]) => window.phTest.mountAll(s, o), [scenario, setups]);
const transform = () => page.locator('.pht g.viewport').getAttribute('transform');
const tip = () => page.locator('.pht .tooltip');

/** Each full card of panel `panel` (0 = first): title -> its box relative to the panel. */
const cards = (panel = 0) =>
  page.evaluate((i) => {
    const host = document.querySelector(`[data-panel="${i}"] [data-testid=pipeline-topology-panel]`);
    const o = host.getBoundingClientRect();
    return Object.fromEntries(
      [...host.querySelectorAll('.pht .node')].map((n) => {
        const r = n.querySelector('.card').getBoundingClientRect();
        const box = { x: r.x - o.x, y: r.y - o.y, w: r.width, h: r.height };
        return [n.querySelector('.title').textContent, box];
      })
    );
  }, panel);

function assertSamePlaces(before, after, titles = Object.keys(before)) {
  for (const t of titles) {
    assert.ok(after[t], `${t} is still drawn`);
    for (const k of ['x', 'y', 'w', 'h']) {
      assert.ok(Math.abs(after[t][k] - before[t][k]) < 0.5, `${t} ${k}: ${before[t][k]} -> ${after[t][k]}`);
    }
  }
}

/** Each node's column (layer) and its place in the column, counting only the nodes `titles`. */
function layerAndOrder(boxes, titles) {
  const xs = [...new Set(titles.map((t) => Math.round(boxes[t].x)))].sort((a, b) => a - b);
  return Object.fromEntries(
    titles.map((t) => {
      const column = titles.filter((u) => Math.round(boxes[u].x) === Math.round(boxes[t].x));
      const below = column.filter((u) => boxes[u].y < boxes[t].y).length;
      return [t, [xs.indexOf(Math.round(boxes[t].x)), below]];
    })
  );
}

async function zoomInAndPan() {
  const svg = await page.locator('.pht svg.graph').boundingBox();
  const fitted = await transform();
  await page.mouse.move(svg.x + svg.width / 2, svg.y + svg.height / 2);
  await page.mouse.wheel(0, -300);
  await page.waitForFunction((b) => document.querySelector('.pht g.viewport').getAttribute('transform') !== b, fitted);
  await page.mouse.down();
  await page.mouse.move(svg.x + svg.width / 2 - 150, svg.y + svg.height / 2 + 40, { steps: 5 });
  await page.mouse.up();
  return fitted;
}

describe('a live dashboard refreshes', () => {
  test('zoom and pan survive new numbers: the same view, every node in place', async () => {
    await mount('pipeline');
    const fitted = await zoomInAndPan();
    const view = await transform();
    assert.notEqual(view, fitted);
    const before = await cards();
    assert.ok(Object.keys(before).length >= 3, `${Object.keys(before)} in view`);
    assert.equal(await node('enricher').locator('.main .v').textContent(), '310.0');

    await refresh('pipeline-ticked');
    await shot('live-refreshed-zoomed');
    assert.equal(await node('enricher').locator('.main .v').textContent(), '327.0', 'the new number is shown');
    assert.equal(await transform(), view, 'the zoom and pan are kept');
    assertSamePlaces(before, await cards());
    assert.deepEqual(Object.keys(await cards()).sort(), Object.keys(before).sort());

    // The fit button still fits, and a refresh then follows the fitted view.
    await page.locator('.pht .controls button[data-act=fit]').click();
    assert.equal(await transform(), fitted);
    await refresh('pipeline');
    assert.equal(await transform(), fitted);
    noCrash();
  });

  test('a push over Grafana Live is taken like a refresh: the view kept, the cause written', async () => {
    // The bed's live topology: green when the screen opened, then the push that named the
    // lost TaskManager, through Grafana's StreamingDataFrame as the datasource configures it.
    await mount('live:0');
    assert.doesNotMatch(await page.locator('.pht').innerText(), /root cause/i);
    await zoomInAndPan();
    const view = await transform();
    const before = await cards();
    await refresh('live:1');
    await shot('live-pushed-restarting');
    const shown = (await page.locator('.pht').innerText()).replace(/\s+/g, ' ');
    const pushed = JSON.parse(readFileSync(LIVE_FIXTURE, 'utf8')).pushes[0].schema.meta.custom;
    assert.ok(pushed.rootCause, 'the push names a root cause');
    assert.ok(shown.includes(pushed.rootCause.slice(0, 40)), `"${pushed.rootCause}" on the panel:\n${shown}`);
    assert.equal(await transform(), view, 'the zoom and pan are kept');
    assertSamePlaces(before, await cards());
    noCrash();
  });

  test('a hovered node keeps its tooltip, with the new numbers', async () => {
    await mount('pipeline');
    await node('enricher').hover();
    await tip().waitFor({ state: 'visible' });
    const box = await tip().boundingBox();
    assert.match(await tip().innerText(), /\nLag\s*48 K\n/);

    await refresh('pipeline-ticked');
    await shot('live-tooltip-refreshed');
    assert.ok(await tip().isVisible(), 'the tooltip is still shown');
    const text = await tip().innerText();
    assert.match(text, /^enricher/);
    assert.match(text, /\nLag\s*52 K\n/, text);
    assert.match(text, /\nThroughput\s*327\.0\n/, text);
    assert.doesNotMatch(text, /48 K/);
    assert.deepEqual(await tip().boundingBox(), box, 'where it was');
    // It still goes when the pointer leaves.
    await page.mouse.move(2, 2);
    await tip().waitFor({ state: 'hidden' });
    noCrash();
  });

  test('a new node and edge come in without moving the others', async () => {
    // The user zoomed out a step: the view is kept, and so is every old node's place on screen.
    await mount('pipeline', { options: VERTICES });
    await page.locator('.pht .controls button[data-act=out]').click();
    const before = await cards();
    assert.equal(Object.keys(before).length, 7);
    await refresh('pipeline-grown');
    await shot('live-grown-zoomed-out');
    const after = await cards();
    assert.ok(after.audit, 'the new consumer group is drawn');
    assert.equal(await page.locator('.pht path.edge[data-e]').count(), 7);
    assertSamePlaces(before, after);

    // Never zoomed: the view refits to the grown graph, old nodes keep layer and order.
    await mount('pipeline');
    const fitted = await cards();
    await refresh('pipeline-grown');
    await shot('live-grown-refitted');
    const refitted = await cards();
    assert.ok(refitted.audit);
    const old = Object.keys(fitted);
    assert.deepEqual(layerAndOrder(refitted, old), layerAndOrder(fitted, old));
    // A removed node just disappears; the rest stay.
    await page.locator('.pht .controls button[data-act=out]').click();
    const zoomed = await cards();
    await refresh('pipeline');
    const shrunk = await cards();
    assert.equal(shrunk.audit, undefined);
    assertSamePlaces(zoomed, shrunk, old);
    noCrash();
  });
});

describe('two panels on one page', () => {
  test('a compact and a full panel side by side keep their own card sizes and arrow markers', async () => {
    const full = { width: 1180, height: 460, options: VERTICES };
    const compact = { ...full, options: { ...VERTICES, compact: true } };
    await mountAll('pipeline', [full]);
    await shot('live-full-alone');
    const fullAlone = await cards(0);
    await mountAll('pipeline', [compact]);
    const compactAlone = await cards(0);

    await mountAll('pipeline', [full, compact]);
    await shot('live-two-panels');
    assert.equal(Object.keys(fullAlone).length, 7);
    assertSamePlaces(fullAlone, await cards(0));
    assertSamePlaces(compactAlone, await cards(1));
    // The card sizes each panel's style sheet gives (the screen size also depends on the zoom).
    const cardWidths = await page.evaluate(() =>
      [...document.querySelectorAll('[data-panel]')].map((p) => [...new Set([...p.querySelectorAll('.card')].map((c) => getComputedStyle(c).width))])
    );
    assert.equal(cardWidths[0].join(), '208px');
    assert.ok(cardWidths[1].length === 1 && parseFloat(cardWidths[1][0]) <= 156, `compact: ${cardWidths[1]}`);

    // Each panel's arrows point at a marker inside its own svg, with an id no other element has.
    const markers = await page.evaluate(() =>
      [...document.querySelectorAll('[data-panel]')].map((panel) => {
        const svg = panel.querySelector('svg.graph');
        const ids = [...svg.querySelectorAll('path.edge[data-e]')].map((e) => /^url\(#(.+)\)$/.exec(e.getAttribute('marker-end'))[1]);
        return [...new Set(ids)].map((id) => ({
          id,
          inOwnSvg: !!svg.querySelector(`marker[id="${id}"]`),
          onPage: document.querySelectorAll(`[id="${id}"]`).length,
        }));
      })
    );
    assert.equal(markers.length, 2);
    for (const m of markers) {
      assert.equal(m.length, 1, 'one arrow marker per panel');
      assert.deepEqual(m[0], { id: m[0].id, inOwnSvg: true, onPage: 1 });
    }
    assert.notEqual(markers[0][0].id, markers[1][0].id);
    // A refresh of one panel leaves the other as it was.
    await refresh('pipeline-ticked', 1);
    assertSamePlaces(fullAlone, await cards(0));
    const enricher = (i) => page.locator(`[data-panel="${i}"] .pht .node`, { hasText: 'enricher' }).locator('.main .v');
    assert.equal(await enricher(1).textContent(), '327.0');
    assert.equal(await enricher(0).textContent(), '310.0');
    noCrash();
  });
});
