// The Pipeline Topology panel on the frames the backend really sent: the topology answers the
// bed's fault tests saved (tests/browser/panel/fixtures/backend/, written by tests/src/
// panel_fixtures.rs from the real plugin binary on the live ROAS pipeline: healthy, slowed
// operator, blocked sink, stopped broker), handed to the real shim through @grafana/data.
// Needs: panel/build.sh (panel/pkg/), /usr/bin/chromium, npm ci.
// Run: node --test tests/browser/panel-backend.test.mjs   Screenshots: tests/output/panel/backend-*.png
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { OUTPUT } from './panel/harness.mjs';
import { panelSession } from './panel/session.mjs';

let page;
const session = panelSession((p) => (page = p), { name: 'www-backend' });

const SCENARIOS = ['roas-healthy', 'roas-slow-operator', 'roas-sink-blocked', 'roas-broker-down'];

const mount = (scenario, opts = {}) => page.evaluate(([s, o]) => window.phTest.mount(s, o), [`backend:${scenario}`, opts]);
const frameNodes = (scenario) => page.evaluate((s) => window.phBackend.frameNodes(s), scenario);
/** Every card as drawn: its row in the frame, classes and texts. */
const cards = () =>
  page.locator('.pht .node').evaluateAll((els) =>
    els.map((e) => ({
      row: Number(e.getAttribute('data-i')),
      classes: e.getAttribute('class'),
      text: e.textContent,
      stripe: getComputedStyle(e.querySelector('.stripe')).fill,
      main: e.querySelector('.main')?.textContent ?? '',
      second: e.querySelector('.second')?.textContent ?? '',
    }))
  );

/** Every Flink vertex as its own card (a job may start as one card: panel-readable.test.mjs). */
async function showVertices() {
  const jobs = page.locator('.pht .controls button[data-act=jobs]');
  if ((await jobs.isVisible()) && (await jobs.getAttribute('title')) === 'Show every Flink vertex') {
    await jobs.click();
  }
}

describe('the panel on the backend frames of the live pipeline', () => {
  for (const scenario of SCENARIOS) {
    test(`${scenario}: every node drawn, in its health, with Grafana's numbers`, async () => {
      await mount(scenario);
      await showVertices();
      await page.screenshot({ path: join(OUTPUT, `backend-${scenario}.png`) });
      const { nodes } = await frameNodes(scenario);
      const drawn = await cards();
      assert.equal(drawn.length, nodes.length, 'one card per node of the frame');
      const colour = (health) => page.evaluate((h) => window.phTest.colorOf('dark', window.phBackend.paletteOf(h)), health);
      for (const card of drawn) {
        const n = nodes[card.row];
        assert.match(card.classes, new RegExp(`\\bh-${n.health}\\b`), `${n.title} is ${n.health}`);
        assert.equal(card.stripe, await colour(n.health), `${n.title} striped in Grafana's colour for ${n.health}`);
        // The card writes the numbers as Grafana formats the numeric fields (what the built-in
        // Node Graph shows): whole, with their unit.
        if (n.mainstat) {
          assert.ok(card.main.includes(n.mainstat), `${n.title}: card "${card.main}" lacks "${n.mainstat}"`);
        }
        if (n.secondarystat) {
          assert.ok(card.text.includes(n.secondarystat), `${n.title}: card "${card.text}" lacks "${n.secondarystat}"`);
        }
      }
      session.noCrash();
    });
  }

  test('the records rates say records, not requests', async () => {
    const { nodes } = await frameNodes('roas-healthy');
    const rates = nodes.map((n) => n.mainstat).filter(Boolean);
    assert.ok(rates.length >= 5, `throughput on most nodes: ${JSON.stringify(nodes)}`);
    for (const r of rates) {
      assert.match(r, /rec\/s$/, r);
    }
  });

  test('healthy: all green, nothing named, no root cause written', async () => {
    await mount('roas-healthy');
    const { nodes, meta } = await frameNodes('roas-healthy');
    assert.equal(meta.rootCause, null);
    assert.ok(nodes.every((n) => n.health === 'ok'), JSON.stringify(nodes.map((n) => [n.title, n.health])));
    assert.equal(await page.locator('.pht .node.bottleneck').count(), 0);
    assert.doesNotMatch(await page.locator('.pht').innerText(), /root cause/i);
  });

  for (const scenario of ['roas-slow-operator', 'roas-sink-blocked', 'roas-broker-down']) {
    test(`${scenario}: the cause nodes marked, the victims marked, the sentence written`, async () => {
      await mount(scenario);
      await showVertices();
      const { nodes, meta } = await frameNodes(scenario);
      assert.ok(meta.rootCause, 'the backend named a root cause');
      const drawn = await cards();
      const rowOf = (id) => nodes.findIndex((n) => n.id === id);
      for (const id of meta.causeNodes) {
        const card = drawn.find((c) => c.row === rowOf(id));
        assert.match(card.classes, /\bbottleneck\b/, `${id} marked as the cause`);
      }
      for (const id of meta.victims) {
        const card = drawn.find((c) => c.row === rowOf(id));
        assert.match(card.classes, /\bvictim\b/, `${id} marked as a victim`);
      }
      // Written on the panel, without hovering.
      const shown = (await page.locator('.pht').innerText()).replace(/\s+/g, ' ');
      const cause = nodes[rowOf(meta.causeNodes[0])];
      assert.ok(shown.includes(cause.title.slice(0, 12)), `"${cause.title}" named on the panel:\n${shown}`);
    });
  }
});
