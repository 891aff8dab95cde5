// One browser session for a panel test file: the page built and served once, a fresh tab per
// test that records uncaught errors and dialogs, and the helpers the tests share.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { pageSession } from '../page-harness.mjs';
import { OUTPUT, buildPage, serve } from './harness.mjs';

const exactly = (t) => (t instanceof RegExp ? t : new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

/** `onPage(page)` gets each test's tab; `name` names the file's own bundle directory. Returns
 * the helpers, bound to the current tab. */
export function panelSession(onPage, { name = 'www', viewport = { width: 1200, height: 640 } } = {}) {
  let page;
  const pageErrors = [];
  const dialogs = [];
  const www = join(OUTPUT, name);
  pageSession({
    output: OUTPUT,
    buildPage: () => buildPage(www),
    serve: () => serve(www),
    viewport,
    onPage: (p) => {
      page = p;
      pageErrors.length = 0;
      dialogs.length = 0;
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      onPage(p);
    },
  });
  return {
    dialogs,
    mount: (scenario, opts = {}) => page.evaluate(([s, o]) => window.phTest.mount(s, o), [scenario, opts]),
    shot: (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`) }),
    colorOf: (mode, name) => page.evaluate(([m, n]) => window.phTest.colorOf(m, n), [mode, name]),
    /** The node card whose (possibly shortened) title matches `title` exactly, or a RegExp. */
    node: (title) => page.locator('.pht .node', { has: page.locator('.title', { hasText: exactly(title) }) }),
    messageText: () => page.locator('.pht .message').textContent(),
    noCrash: () => assert.deepEqual(pageErrors, [], 'no uncaught errors in the page'),
  };
}
