// The topology panel read at dashboard sizes, in real headless Chromium (issue 14): no text under
// 11 px on screen, numbers never cut and written as in the tooltip, the root cause said on the
// panel, a short tooltip. Needs panel/build.sh and npm ci, like panel.test.mjs.
// Run: node --test tests/browser/panel-readable.test.mjs   Screenshots: tests/output/panel/readable-*.png
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { OUTPUT } from './panel/harness.mjs';
import { panelSession } from './panel/session.mjs';

let page;
const session = panelSession((p) => (page = p), { name: 'www-readable' });
const { mount } = session;

// The ROAS pipeline as the backend answered it on the bed with the join slowed
// (tests/browser/panel/fixtures/backend/); what it should show is read from the same frames.
const SLOW = 'backend:roas-slow-operator';
const frameNodes = (scenario) => page.evaluate((s) => window.phBackend.frameNodes(s), scenario.slice('backend:'.length));

const shot = (name) => page.locator('[data-testid=pipeline-topology-panel]').screenshot({ path: join(OUTPUT, `readable-${name}.png`) });

/** Every piece of text a user can see in the panel, with its size on screen. */
const visibleText = () =>
  page.evaluate(() => {
    const root = document.querySelector('.pht');
    const panel = root.getBoundingClientRect();
    const out = [];
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const el = walk.currentNode.parentElement;
      const text = walk.currentNode.textContent.trim();
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (!text || el.closest('style') || !r.width || !r.height || style.visibility === 'hidden') continue;
      if (r.right <= panel.left || r.left >= panel.right || r.bottom <= panel.top || r.top >= panel.bottom) continue;
      let px = parseFloat(style.fontSize);
      if (el instanceof SVGGraphicsElement) {
        const m = el.getScreenCTM();
        px *= Math.hypot(m.a, m.b);
      }
      out.push({ text, px, cls: el.getAttribute('class') ?? el.tagName });
    }
    return out;
  });

/** Each card's stats on screen: full label, text, value, and whether they fit inside the card. */
const cardStats = () =>
  page.evaluate(() =>
    [...document.querySelectorAll('.pht .node')].flatMap((n) => {
      const card = n.querySelector('.card').getBoundingClientRect();
      const panel = document.querySelector('.pht').getBoundingClientRect();
      return [...n.querySelectorAll('.main, .second')].map((t) => {
        const r = t.getBoundingClientRect();
        return {
          node: n.querySelector('.title')?.textContent,
          index: n.getAttribute('data-i'),
          stat: t.getAttribute('data-stat'),
          text: t.textContent,
          value: t.querySelector('.v')?.textContent,
          inside: r.left >= card.left - 0.5 && r.right <= card.right + 0.5,
          onScreen: card.left >= panel.left && card.right <= panel.right && card.top >= panel.top && card.bottom <= panel.bottom,
        };
      });
    })
  );

/** The tooltip of the card with `data-i` = `index`, as rows of text. */
async function tooltipOf(index) {
  await page.mouse.move(1, 1);
  // Over the card itself: its texts would take the pointer from the rect.
  await page.locator(`.pht .node[data-i="${index}"] .card`).hover({ force: true });
  const tip = page.locator('.pht .tooltip');
  await tip.waitFor({ state: 'visible' });
  const rows = tip.evaluate((t) =>
    [...t.children].map((row) => (row.children.length ? [...row.children].map((c) => c.innerText).join(' ') : row.innerText).trim())
  );
  return rows;
}

const SIZES = [
  ['roas-400x250', SLOW, { width: 400, height: 250 }],
  ['roas-800x400', SLOW, { width: 800, height: 400 }],
  ['roas-1100x520', SLOW, { width: 1100, height: 520 }],
  ['roas-tb-1100x520', SLOW, { width: 1100, height: 520, options: { orientation: 'TB' } }],
  ['roas-tb-800x400', SLOW, { width: 800, height: 400, options: { orientation: 'TB' } }],
  ['roas-healthy-800x400', 'backend:roas-healthy', { width: 800, height: 400 }],
  ['roas-sink-blocked-800x400', 'backend:roas-sink-blocked', { width: 800, height: 400 }],
  ['roas-broker-down-400x250', 'backend:roas-broker-down', { width: 400, height: 250 }],
  ['synthetic60-1100x520', 'synthetic:60', { width: 1100, height: 520 }],
  ['orders-800x400', 'pipeline', { width: 800, height: 400 }],
];

describe('readable at dashboard sizes', () => {
  for (const [name, scenario, opts] of SIZES) {
    test(`${name}: no text under 11 px, no number cut, the root cause on the panel`, async () => {
      await mount(scenario, opts);
      await shot(name);
      const texts = await visibleText();
      const cards = texts.filter((t) => /^(title|main|second|v|l)$/.test(t.cls));
      assert.ok(cards.length >= 3, `card text is drawn at this size: ${JSON.stringify(texts.slice(0, 5))}`);
      const smallest = texts.reduce((a, b) => (b.px < a.px ? b : a));
      assert.ok(smallest.px >= 11 - 1e-6, `smallest text ${smallest.px.toFixed(2)} px: "${smallest.text}" (${smallest.cls})`);
      for (const s of await cardStats()) {
        assert.ok(s.value && !s.text.endsWith('…'), `stat cut on ${s.node}: "${s.text}"`);
        assert.ok(s.inside, `stat "${s.text}" runs out of the card ${s.node}`);
      }
      const sentence = scenario.startsWith('backend:') ? (await frameNodes(scenario)).meta.rootCause : null;
      const caption = page.locator('.pht .caption');
      if (sentence || !scenario.startsWith('backend:')) {
        assert.ok(await caption.isVisible(), 'the root cause is said without hovering');
        const said = await caption.innerText();
        assert.match(said, /^ROOT CAUSE/);
        if (sentence) {
          assert.ok(said.replace(/\s+/g, ' ').includes(sentence), `"${sentence}" in:\n${said}`);
          assert.ok(await page.locator('.pht .node.bottleneck .badge').count(), 'the cause card is marked');
        }
      } else {
        assert.ok(!(await caption.isVisible()), 'a healthy pipeline has no root-cause caption');
      }
      // Whatever does not fit is a drag away, and the panel says so.
      const clipped = await page.evaluate(() => {
        const p = document.querySelector('.pht').getBoundingClientRect();
        const v = document.querySelector('.pht g.viewport').getBoundingClientRect();
        return v.left < p.left - 1 || v.right > p.right + 1 || v.top < p.top - 1 || v.bottom > p.bottom + 1;
      });
      if (clipped) {
        assert.match(await page.locator('.pht .hint').innerText(), /Drag to see the rest/);
      }
      session.noCrash();
    });
  }

  test('the ROAS pipeline at 1100x520 shows each Flink job as one card that opens on click', async () => {
    await mount(SLOW);
    const { nodes } = await frameNodes(SLOW);
    const vertices = nodes.filter((n) => n.kind.startsWith('flink-'));
    const cause = nodes.find((n) => n.bottleneck);
    const job = page.locator('.pht .node', { has: page.locator('.sub', { hasText: new RegExp(`^Flink job · ${vertices.length} vertices$`) }) });
    assert.equal(await job.count(), 1);
    assert.equal(await job.locator('.title').textContent(), cause.subtitle, 'the card is named by the job');
    assert.match(await job.getAttribute('class'), /h-critical.*bottleneck/, 'worst health of the job, and the cause');
    assert.equal(await job.locator('.main .v').textContent(), cause.mainstat, "the cause vertex's number");
    const tip = await tooltipOf(await job.getAttribute('data-i'));
    assert.ok(tip.some((row) => row.includes(cause.reason)), `the cause's reason in:\n${tip.join('\n')}`);
    assert.equal(tip.at(-1), `Click to show its ${vertices.length} vertices`);
    await job.locator('.card').click({ force: true });
    await page.locator('.pht .node .title', { hasText: /^IntervalJoin/ }).waitFor();
    assert.equal(await page.locator('.pht .node').count(), nodes.length, 'every vertex drawn');
    await shot('roas-1100x520-opened');
    const texts = await visibleText();
    assert.ok(Math.min(...texts.map((t) => t.px)) >= 11 - 1e-6, 'opened, still readable (panned)');
    // The control puts the jobs back as one card each.
    await page.locator('.pht .controls button[data-act=jobs]').click();
    assert.equal(await page.locator('.pht .node').count(), nodes.length - vertices.length + 1);
    const back = await visibleText();
    assert.ok(back.some((t) => t.cls === 'title') && Math.min(...back.map((t) => t.px)) >= 11 - 1e-6, 'collapsed again, readable');
    session.noCrash();
  });

  test("a card's number is the tooltip's number; the tooltip says each thing once", async () => {
    for (const jobs of ['collapsed', 'opened']) {
      await mount(SLOW);
      if (jobs === 'opened') {
        await page.locator('.pht .controls button[data-act=jobs]').click();
      }
      const stats = (await cardStats()).filter((s) => s.value);
      assert.ok(stats.length >= 6, JSON.stringify(stats));
      const seen = new Set();
      for (const s of stats) {
        if (!s.onScreen) continue;
        const rows = await tooltipOf(s.index);
        assert.equal(new Set(rows).size, rows.length, `a repeated row:\n${rows.join('\n')}`);
        assert.ok(rows.includes(`${s.stat} ${s.value}`), `card ${s.node} says ${s.stat} ${s.value}; tooltip:\n${rows.join('\n')}`);
        const labels = rows.map((r) => r.split(' ')[0]);
        assert.equal(rows.filter((r) => /^Reason /.test(r)).length, 0, 'the reason is said once, not again as a detail');
        // Name, kind, health, reason, two headline numbers, details as room allows, share, links:
        // twelve rows at most (MAX_TOOLTIP_ROWS in panel/src/render/overlay.rs).
        assert.ok(labels.length <= 12, `a short tooltip (${rows.length} rows):\n${rows.join("\n")}`);
        seen.add(s.node);
      }
      assert.ok(seen.size >= 4, [...seen].join(','));
    }
    // The cause's tooltip: kind, health, reason, numbers, links; nothing twice.
    await mount(SLOW);
    await page.locator('.pht .controls button[data-act=jobs]').click();
    const cause = (await frameNodes(SLOW)).nodes.find((n) => n.bottleneck);
    const join = page.locator('.pht .node.bottleneck');
    const rows = await tooltipOf(await join.getAttribute('data-i'));
    await shot('roas-tooltip');
    assert.deepEqual(rows.slice(0, 4), [cause.title, `Flink operator · ${cause.subtitle}`, 'Health CRITICAL · root cause', cause.reason]);
    // Each number once, as Grafana formats it: the headline ones, then the details not already said.
    const said = (text) => rows.some((r) => r.endsWith(` ${text}`));
    for (const [label, text] of cause.details) {
      assert.ok(said(text), `tooltip lacks ${label} "${text}":\n${rows.join('\n')}`);
    }
    // The backend's frames carry no data links (a user adds them in the field config).
    assert.ok(!rows.includes('Click for links'), 'no links promised when the frame has none');
    session.noCrash();
  });
});
