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
