// The bundle-size measure of issue 18, printed (never asserted): a Vite production build of a
// page that imports the package, minus an empty Vite app, every emitted file gzip -9'd on its
// own (as a server sends them) — for polargrid-core (the packed tarball) and, measured the same
// way in the same run, @supabase/auth-js, firebase/auth and openai (pinned in
// bindings-wasm/dev/compare, installed into $POLARGRID_CACHE/npm-node/compare).
//   node tests/bundlers/size.mjs <work dir> <polargrid-core-….tgz>
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { BIN, CACHE, run } from './lib.mjs';

const [work, tarball] = process.argv.slice(2);
const COMPARE = join(CACHE, 'npm-node/compare/node_modules');
const BUDGET = 30 * 1024;
// Each package's figure at main 72704ee (this script, 2026-12-03), in KiB: the baseline of
// `make bench`'s closing table (scripts/bench-record.sh).
const BASELINE_KIB = { 'polargrid-core': 82.6, '@supabase/auth-js': 22.1, 'firebase/auth': 29.9, openai: 81.4 };

const PAGES = {
  empty: "document.title = 'app';\n",
  'polargrid-core': "import { PolarGrid } from 'polargrid-core';\ndocument.title = 'app';\nwindow.x = PolarGrid;\n",
  '@supabase/auth-js': "import { GoTrueClient } from '@supabase/auth-js';\ndocument.title = 'app';\nwindow.x = GoTrueClient;\n",
  'firebase/auth': "import { getAuth, signInWithEmailAndPassword, onAuthStateChanged } from 'firebase/auth';\ndocument.title = 'app';\nwindow.x = [getAuth, signInWithEmailAndPassword, onAuthStateChanged];\n",
  openai: "import OpenAI from 'openai';\ndocument.title = 'app';\nwindow.x = OpenAI;\n",
};

const gz = (file) => execFileSync('gzip', ['-9c', file], { maxBuffer: 1 << 26 }).length;

/** Every emitted file under `dir`: { wasm, js, other } gzip -9 bytes. */
function measure(dir) {
  const out = { wasm: 0, js: 0, other: 0 };
  for (const name of readdirSync(dir, { recursive: true })) {
    const f = join(dir, name);
    if (!statSync(f).isFile()) continue;
    const ext = extname(f);
    out[ext === '.wasm' ? 'wasm' : ext === '.js' ? 'js' : 'other'] += gz(f);
  }
  return out;
}

async function build(name, source) {
  const dir = join(work, `size-${name.replace(/[^a-z]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'size-app', private: true, type: 'module' }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(dir, 'main.js'), source);
  if (name === 'polargrid-core') {
    const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], dir);
    if (r.code !== 0) throw new Error(`npm install: ${r.out}`);
  } else if (name !== 'empty') symlinkSync(COMPARE, join(dir, 'node_modules'));
  const r = await run(join(BIN, 'vite'), ['build', '--logLevel', 'error'], dir);
  if (r.code !== 0) return { error: r.out.trim().split('\n')[0] };
  return measure(join(dir, 'dist'));
}

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const empty = await build('empty', PAGES.empty);
const total = (m) => m.wasm + m.js + m.other - (empty.wasm + empty.js + empty.other);
console.log('== bundle size: Vite 8 production build of a page importing the package, minus an empty Vite app, each file gzip -9');
for (const [name, source] of Object.entries(PAGES)) {
  if (name === 'empty') continue;
  const m = await build(name, source);
  if (m.error) {
    console.log(`${name.padEnd(20)} build failed: ${m.error}`);
    continue;
  }
  const t = total(m);
  const parts = m.wasm ? ` (wasm ${kib(m.wasm)} = ${Math.round((100 * m.wasm) / t)}%, JS ${kib(m.js - empty.js)})` : '';
  const budget = name === 'polargrid-core' ? `; budget ${kib(BUDGET)}: ${t <= BUDGET ? 'within' : `${kib(t - BUDGET)} over`}` : '';
  console.log(`${name.padEnd(20)} ${kib(t).padStart(10)}${parts}${budget}`);
  const fields = [`web: bundle gzip, ${name}`, (t / 1024).toFixed(1), 'KiB', BASELINE_KIB[name] ?? '-', name === 'polargrid-core' ? `<=${BUDGET / 1024}` : '-'];
  console.log(['bench-figure', ...fields].join('\t'));
}
