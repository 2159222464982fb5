// Shared by the bundler matrix, the start-up measure and the size measure
// (tests/bundlers/*.mjs): commands, static and dev servers, the apps' backend, fresh apps
// with the packed package installed, pages in headless Chromium that log their result.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CHROMIUM_FLAGS, ROOT } from '../browser/lib.mjs';

export { ROOT };
export const CACHE = process.env.POLARGRID_CACHE || join(process.env.HOME, '.cache/polargrid-core');
export const BIN = join(CACHE, 'npm-bundlers/node_modules/.bin');
export const TEMPLATE = join(ROOT, 'tests/bundlers/app');
const { chromium } = await import(join(CACHE, 'npm-browser/node_modules/playwright-core/index.mjs'));
// A warning a browser bundler gives when it meets Node-only code.
export const NODE_WARNING = /node:|externali[sz]ed|Critical dependency|Could not resolve/i;

/** Runs a command; resolves to { code, out } (stdout and stderr together). */
export function run(cmd, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** A long-running server (vite dev, vite preview): resolves once it prints its URL. */
export function serveWith(cmd, args, cwd) {
  const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise((resolve, reject) => {
    const look = (d) => {
      out += d;
      const m = out.replace(/\x1b\[[0-9;]*m/g, '').match(/Local:\s+(http:\/\/\S+?)\/?\s/);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`${cmd} printed no URL in 30 s: ${out}`)), 30_000);
  });
  return { url, output: () => out, stop: () => (child.stdin.end(), child.kill()) };
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

/** A static server of `dir` on 127.0.0.1 with extra response headers (a CSP); `gzip`:
 * compressed (level 9) for clients that accept it, as a CDN would serve them; `types`:
 * content types by extension in place of the right ones. */
export async function serveDir(dir, headers = {}, { gzip = false, types = {} } = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    let body;
    try {
      if (!file.startsWith(dir + sep)) throw new Error('outside');
      body = readFileSync(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const extra = { ...headers };
    if (gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      body = gzipSync(body, { level: 9 });
      extra['content-encoding'] = 'gzip';
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...extra });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The app's backend: mints sessions with the emulator's key (handoff), on another origin. */
export async function startBackend(info) {
  const cors = { 'access-control-allow-origin': '*', 'cache-control': 'no-store', 'content-type': 'application/json' };
  const server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/session') {
      const r = await fetch(`${info.auth}/v1/auth/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.keys.read_write}`, 'content-type': 'application/json' },
        body: '{}',
      });
      res.writeHead(r.status, cors).end(await r.text());
    } else if (req.url === '/config.json') {
      res.writeHead(200, cors).end(JSON.stringify({ endpoints: { ...info, keys: undefined, admin: undefined } }));
    } else res.writeHead(404, cors).end('{}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** A fresh app in `work`: package.json, the template's files, then `npm install <source>`
 * (the tarball; a folder is linked). */
export async function makeApp(work, name, files, source) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `app-${name}`, private: true, type: 'module' }, null, 2));
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(join(dir, to, '..'), { recursive: true });
    copyFileSync(join(TEMPLATE, from), join(dir, to));
  }
  const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', source], dir);
  if (r.code !== 0) throw new Error(`npm install in ${name}: ${r.out}`);
  return dir;
}

/** Headless Chromium; `page(url, { backend, query, throttle })` loads a page in a fresh
 * context (no cache) and resolves to the result it logs ("polargrid-result {json}"). */
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
  async function page(url, { backend, query = {}, throttle } = {}) {
    const ctx = await browser.newContext();
    const errors = [];
    try {
      const p = await ctx.newPage();
      if (throttle) {
        const cdp = await ctx.newCDPSession(p);
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', { offline: false, ...throttle });
      }
      p.on('pageerror', (e) => errors.push(e.message));
      const reported = p.waitForEvent('console', { predicate: (m) => m.text().startsWith('polargrid-result '), timeout: 60_000 });
      const q = new URLSearchParams({ backend, ...query });
      await p.goto(`${url}/?${q}`);
      const result = JSON.parse((await reported).text().slice('polargrid-result '.length));
      if (errors.length) result.pageErrors = errors;
      return result;
    } finally {
      await ctx.close();
    }
  }
  return { page, close: () => browser.close() };
}
