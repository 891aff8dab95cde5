// The panel's browser tests and benchmark: its test page, served with the panel's .wasm where
// Grafana would serve it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ROOT, bundlePage, launch, servePage } from '../page-harness.mjs';

export { ROOT, launch };

const here = dirname(fileURLToPath(import.meta.url));
export const OUTPUT = join(ROOT, 'tests/output/panel');
const WWW = join(OUTPUT, 'www');
const PKG = join(ROOT, 'panel/pkg');
const WASM_PATH = '/public/plugins/pipelinehealth-topology-panel/pipeline_panel_bg.wasm';

/** `www`: where the bundle goes (one per test file, as files may run at once). */
export async function buildPage(www = WWW) {
  for (const f of ['pipeline_panel.js', 'pipeline_panel_bg.wasm']) {
    if (!existsSync(join(PKG, f))) {
      throw new Error(`panel/pkg/${f} is missing: run panel/build.sh first`);
    }
  }
  await bundlePage({ entry: join(here, 'page.tsx'), html: join(here, 'index.html'), www });
}

export function serve(www = WWW) {
  return servePage(www, { files: { [WASM_PATH]: ['application/wasm', join(PKG, 'pipeline_panel_bg.wasm')] } });
}
