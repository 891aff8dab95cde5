// Shared by the panel's browser tests and benchmark: bundles the test page with esbuild, serves
// it and the panel's .wasm on 127.0.0.1, and launches the system Chromium headless.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../../..');
export const OUTPUT = join(ROOT, 'tests/output/panel');
const WWW = join(OUTPUT, 'www');
const PKG = join(ROOT, 'panel/pkg');
const WASM_PATH = '/public/plugins/pipelinehealth-topology-panel/pipeline_panel_bg.wasm';

export async function buildPage() {
  for (const f of ['pipeline_panel.js', 'pipeline_panel_bg.wasm']) {
    if (!existsSync(join(PKG, f))) {
      throw new Error(`panel/pkg/${f} is missing: run panel/build.sh first`);
    }
  }
  mkdirSync(WWW, { recursive: true });
  await build({
    entryPoints: [join(here, 'page.tsx')],
    bundle: true,
    outfile: join(WWW, 'page.js'),
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.svg': 'text', '.css': 'empty', '.woff': 'empty', '.woff2': 'empty', '.png': 'empty' },
    logLevel: 'error',
  });
  copyFileSync(join(here, 'index.html'), join(WWW, 'index.html'));
}

export function serve() {
  const files = {
    '/': ['index.html', 'text/html'],
    '/page.js': ['page.js', 'text/javascript'],
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x').pathname;
    if (url === WASM_PATH) {
      res.writeHead(200, { 'content-type': 'application/wasm' });
      res.end(readFileSync(join(PKG, 'pipeline_panel_bg.wasm')));
      return;
    }
    const f = files[url];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[1] });
    res.end(readFileSync(join(WWW, f[0])));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` }))
  );
}

export async function launch() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
