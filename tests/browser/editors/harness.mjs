// The datasource editors' tests: their browser page, and the editors' pure logic bundled for Node.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ROOT, bundlePage, servePage } from '../page-harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = join(ROOT, 'backend/frontend/src');
export const OUTPUT = join(ROOT, 'tests/output/editors');
const WWW = join(OUTPUT, 'www');

export function buildPage() {
  return bundlePage({ entry: join(here, 'page.tsx'), html: join(here, 'index.html'), www: WWW });
}

// Where @grafana/ui's Icon looks for its SVGs when Grafana has not set a public path.
const ICONS = { '/public/build/img/icons/': join(ROOT, 'node_modules/@grafana/ui/dist/public/img/icons') };

export function serve() {
  return servePage(WWW, { dirs: ICONS });
}

/** queries.ts and secrets.ts as ES modules for Node (they import only types from @grafana). */
export async function loadLogic() {
  const outdir = join(OUTPUT, 'logic');
  await build({
    entryPoints: [join(SRC, 'queries.ts'), join(SRC, 'secrets.ts')],
    bundle: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  const load = (name) => import(pathToFileURL(join(outdir, `${name}.mjs`)).href);
  const [queries, secrets] = await Promise.all([load('queries'), load('secrets')]);
  return { queries, secrets };
}
