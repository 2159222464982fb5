// Test support (kept outside test/: node --test runs every .mjs under a test/ folder).
// Starts the real emulator (target/debug/polargrid-emulator, built by scripts/test-npm.sh)
// on 127.0.0.1 and talks to its admin API.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Starts an emulator; resolves to { info, admin(path, body?), log(filter), stop() }. */
export async function startEmulator(args = []) {
  const bin = process.env.POLARGRID_EMULATOR ?? `${root}target/debug/polargrid-emulator`;
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}) before its start-up line`)));
    lines.once('line', resolve);
  });
  const info = JSON.parse(first);
  const admin = async (path, body) => {
    const res = await fetch(info.admin + path, body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    info,
    admin,
    /** Log entries matching every given field (role, path, credential, …). */
    async log(filter = {}) {
      const { entries } = await admin('/admin/log');
      return entries.filter((e) => Object.entries(filter).every(([k, v]) => e[k] === v));
    },
    stop() {
      child.stdin.end();
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}

/** Imports an npm dev dependency from the tool cache ($POLARGRID_CACHE/npm-node). */
export async function importDev(name) {
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const cache = process.env.POLARGRID_CACHE ?? `${process.env.HOME}/.cache/polargrid-core`;
  const require = createRequire(`${cache}/npm-node/package.json`);
  return import(pathToFileURL(require.resolve(name)).href);
}

/** A clock the tests move: Date.now() plus what they advanced. */
export function testClock() {
  let offset = 0;
  const now = () => Date.now() + offset;
  now.advance = (ms) => (offset += ms);
  return now;
}

/**
 * A `fetch` with at most `limit` requests on the wire at once, the rest queued in order —
 * what a browser's or an HTTP agent's connection pool does. The emulator serves at most
 * 256 connections at once and closes the rest unanswered.
 */
export function pooledFetch(limit, inner = globalThis.fetch) {
  let active = 0;
  const waiting = [];
  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };
  return async (url, init) => {
    if (active >= limit) await new Promise((resolve) => waiting.push(resolve));
    active += 1;
    try {
      const res = await inner(url, init);
      // The slot is held until the body is read (or the response dropped by the caller).
      if (!res.body) return (release(), res);
      let done = false;
      const finish = () => done || ((done = true), release());
      const reader = res.body.getReader();
      const body = new ReadableStream({
        async pull(c) {
          try {
            const { done: end, value } = await reader.read();
            if (end) (finish(), c.close());
            else c.enqueue(value);
          } catch (e) {
            finish();
            c.error(e);
          }
        },
        cancel(reason) {
          finish();
          return reader.cancel(reason);
        },
      });
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (e) {
      release();
      throw e;
    }
  };
}
