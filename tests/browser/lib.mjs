// Shared set-up of the browser suites: the real emulator (a child process), the example
// backend serving the package and the test pages on 127.0.0.1, and Debian's Chromium
// driven by playwright-core (from $POLARGRID_CACHE/npm-browser, no downloaded browser).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../examples/web/server.mjs';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CACHE = process.env.POLARGRID_CACHE || join(process.env.HOME, '.cache/polargrid-core');
const { chromium } = await import(join(CACHE, 'npm-browser/node_modules/playwright-core/index.mjs'));

export const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
  '--disable-sync', '--no-first-run',
];

/** Starts the emulator binary; resolves to its start-up JSON plus admin helpers. */
export async function startEmulator(args = []) {
  const bin = process.env.POLARGRID_EMULATOR || join(ROOT, 'target/debug/polargrid-emulator');
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const first = await new Promise((res, rej) => {
    rl.once('line', res);
    child.once('exit', (c) => rej(new Error(`emulator exited ${c}`)));
  });
  const info = JSON.parse(first);
  const admin = async (path, body) => {
    const r = await fetch(info.admin + path, body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`admin ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  return {
    info,
    admin,
    log: async (q = '') => (await admin(`/admin/log${q}`)).entries,
    stop: () => { child.stdin.end(); child.kill(); },
  };
}

/** The example backend plus the test pages, minting with the emulator's read-write key. */
export function startPages(emu) {
  return startServer({
    endpoints: emu.info,
    apiKey: emu.info.keys.read_write,
    roots: { '/pages/': join(ROOT, 'tests/browser/pages') },
  });
}

/** Debian's Chromium with a fresh profile. Console messages of every page are collected. */
export async function launch() {
  const dir = mkdtempSync(join(tmpdir(), 'pg-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  const consoleLines = [];
  ctx.on('page', (p) => p.on('console', (m) => consoleLines.push(m.text())));
  for (const p of ctx.pages()) p.on('console', (m) => consoleLines.push(m.text()));
  return {
    ctx,
    consoleLines,
    async page(url, ready = 'harnessReady') {
      const p = await ctx.newPage();
      p.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      await p.goto(url);
      await p.waitForFunction(`window.${ready} === true`, null, { timeout: 20000 });
      return p;
    },
    async close() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Refresh requests the auth service received (not preflights). */
export async function refreshes(emu) {
  return (await emu.log('?role=auth&path=/v1/auth/refresh')).filter((e) => e.method === 'POST');
}
export async function exchanges(emu) {
  return (await emu.log('?role=auth&path=/v1/auth/session')).filter((e) => e.method === 'POST');
}
