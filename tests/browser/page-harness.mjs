// Shared by the browser tests: bundles a test page (a .tsx using the real @grafana packages) with
// esbuild, serves it on 127.0.0.1 and launches the system Chromium headless.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Bundles `entry` to `<www>/page.js` for the browser and copies `html` to `<www>/index.html`. */
export async function bundlePage({ entry, html, www }) {
  mkdirSync(www, { recursive: true });
  await build({
    entryPoints: [entry],
    bundle: true,
    outfile: join(www, 'page.js'),
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.svg': 'text', '.css': 'empty', '.woff': 'empty', '.woff2': 'empty', '.png': 'empty' },
    logLevel: 'error',
  });
  copyFileSync(html, join(www, 'index.html'));
}

/**
 * Serves the bundled page from `www`, plus `files` (URL path -> [content type, file path]) and
 * `dirs` (URL prefix -> directory, for Grafana's static assets such as icons).
 * Resolves to the server and the page's URL.
 */
export function servePage(www, { files = {}, dirs = {} } = {}) {
  const routes = {
    '/': ['text/html', join(www, 'index.html')],
    '/page.js': ['text/javascript', join(www, 'page.js')],
    ...files,
  };
  const fromDir = (path) => {
    const prefix = Object.keys(dirs).find((p) => path.startsWith(p));
    if (!prefix) {
      return undefined;
    }
    const file = resolve(dirs[prefix], `.${path.slice(prefix.length - 1)}`);
    const type = file.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
    return file.startsWith(resolve(dirs[prefix])) && existsSync(file) ? [type, file] : undefined;
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const route = routes[path] ?? fromDir(path);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': route[0] });
    res.end(readFileSync(route[1]));
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

/**
 * Registers the hooks a browser suite needs: build and serve its page once, one Chromium for the
 * suite, and a fresh tab on the page before each test. `onPage(page)` runs before the page loads,
 * so listeners it adds see everything.
 */
export function pageSession({ output, buildPage, serve, viewport, onPage }) {
  let browser, server, page;
  before(async () => {
    mkdirSync(output, { recursive: true });
    await buildPage();
    server = await serve();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    server?.server.close();
  });
  beforeEach(async () => {
    await page?.close();
    page = await browser.newPage({ viewport });
    page.setDefaultTimeout(8000);
    onPage(page);
    await page.goto(server.url);
  });
}
