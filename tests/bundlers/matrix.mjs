// The bundler matrix (scripts/test-bundlers.sh): the packed polargrid-core installed with
// `npm install <tarball>` into fresh apps under <work dir>, built with zero configuration by
// the pinned tools in $POLARGRID_CACHE/npm-bundlers, each page loaded in Debian's headless
// Chromium making a handoff call and a streamed chat against the real emulator; Node ESM
// and CommonJS; tsc --noEmit with moduleResolution bundler and node16. The failure rows
// check that what cannot work rejects `connect` with a PolarGridError whose fix says why.
//   node tests/bundlers/matrix.mjs <work dir> <polargrid-core-….tgz>
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../browser/lib.mjs';
import { BIN, NODE_WARNING, launchBrowser, makeApp as make, run, serveDir, serveWith, startBackend } from './lib.mjs';

const [work, tarball] = process.argv.slice(2);
const makeApp = (name, files, source = tarball) => make(work, name, files, source);

const rows = [];
let failed = 0;
function record(toolchain, ok, detail, ms) {
  rows.push({ toolchain, ok, detail, ms });
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${toolchain}: ${detail} (${ms} ms)`);
}

async function timed(toolchain, fn) {
  const t0 = Date.now();
  try {
    const [ok, detail] = await fn();
    record(toolchain, ok, detail, Date.now() - t0);
  } catch (e) {
    record(toolchain, false, String(e?.stack ?? e).split('\n').slice(0, 4).join(' | '), Date.now() - t0);
  }
}

async function build(cmd, args, cwd) {
  const r = await run(join(BIN, cmd), args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} failed: ${r.out.slice(-1500)}`);
  const warn = r.out.split('\n').filter((l) => NODE_WARNING.test(l));
  if (warn.length) throw new Error(`${cmd} warned about Node-only code: ${warn.join(' | ')}`);
}

const emu = await startEmulator();
const backend = await startBackend(emu.info);
const browser = await launchBrowser();
const page = (url, query = {}) => browser.page(url, { backend: backend.url, query });
/** A page that made its handoff call and streamed its chat to the end, having asked for the
 * wasm no later than for its session (connect starts the download before getSession). */
function worked(r) {
  const ok = r.ok && r.status === 'active' && r.models === 200 && r.chat === 200 && r.deltas > 0 && r.done && !r.pageErrors;
  if (!ok) return [false, JSON.stringify(r)];
  const wasm = r.timeline.find(([n]) => n.endsWith('.wasm'));
  const session = r.timeline.find(([n]) => n === 'session');
  if (!wasm || !session || wasm[1] > session[1]) return [false, `the wasm was not requested before the session: ${JSON.stringify(r.timeline)}`];
  return [true, `handoff call 200, ${r.deltas} streamed deltas to [DONE]; wasm requested at ${wasm[1]} ms, session at ${session[1]} ms`];
}

/** A page whose connect rejected with a PolarGridError invalid_config whose fix matches. */
function refused(fix) {
  return (r) => {
    const ok = !r.ok && r.polarGridError && r.name === 'PolarGridError' && r.kind === 'invalid_config' && fix.test(r.fix ?? '');
    return [ok, ok ? `PolarGridError invalid_config, fix: ${r.fix.slice(0, 70)}…` : JSON.stringify(r)];
  };
}

async function servedPage(dir, check, { headers, query, types } = {}) {
  const s = await serveDir(dir, headers, { types });
  try {
    return check(await page(s.url, query));
  } finally {
    await s.close();
  }
}

try {
  // The package as a folder, for the app that installs it the way a monorepo would.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked, { recursive: true });
  const tar = await run('tar', ['-xzf', tarball, '-C', unpacked]);
  if (tar.code !== 0) throw new Error(`tar: ${tar.out}`);
  // Every app installs the tarball at once; the builds then run one by one (2 cores).
  const [vite, webpack, esb, imap, node, types, viteLink] = await Promise.all([
    makeApp('vite', { 'index.html': 'index.html', 'main.js': 'main.js' }),
    makeApp('webpack', { 'src/index.js': 'main.js' }),
    makeApp('esbuild', { 'main.js': 'main.js' }),
    makeApp('importmap', { 'main.js': 'main.js' }),
    makeApp('node', { 'node.mjs': 'node.mjs', 'node.cjs': 'node.cjs' }),
    makeApp('types', { 'types.ts': 'types.ts', 'tsconfig.bundler.json': 'tsconfig.bundler.json', 'tsconfig.node16.json': 'tsconfig.node16.json' }),
    makeApp('vite-link', { 'index.html': 'index.html', 'main.js': 'main.js' }, join(unpacked, 'package')),
  ]);

  await timed('Vite build', async () => {
    await build('vite', ['build', '--logLevel', 'warn'], vite);
    return servedPage(join(vite, 'dist'), worked);
  });
  await timed('Vite preview', async () => {
    const s = serveWith(join(BIN, 'vite'), ['preview', '--host', '127.0.0.1', '--port', '0'], vite);
    try {
      return worked(await page(await s.url));
    } finally {
      s.stop();
    }
  });
  await timed('Vite dev', async () => {
    const s = serveWith(join(BIN, 'vite'), ['--host', '127.0.0.1', '--port', '0'], vite);
    try {
      const [ok, detail] = worked(await page(await s.url));
      const warn = s.output().split('\n').filter((l) => NODE_WARNING.test(l));
      return warn.length ? [false, `vite dev warned: ${warn.join(' | ')}`] : [ok, detail];
    } finally {
      s.stop();
    }
  });
  await timed('Vite dev, package installed from a folder (a symlink)', async () => {
    // Outside server.fs.allow: Vite refuses the wasm (403); the fix must say so.
    const s = serveWith(join(BIN, 'vite'), ['--host', '127.0.0.1', '--port', '0'], viteLink);
    try {
      return refused(/server\.fs\.allow/)(await page(await s.url));
    } finally {
      s.stop();
    }
  });
  // The page's CSP, exactly as the package README gives it (the emulator's origins in
  // connect-src in place of PolarGrid's), then without 'wasm-unsafe-eval'.
  const origins = [backend.url, emu.info.auth, emu.info.autorouter, ...emu.info.regions.map((r) => r.url)].join(' ');
  await timed("CSP script-src 'self' 'wasm-unsafe-eval' (Vite build)", () =>
    servedPage(join(vite, 'dist'), worked, { headers: { 'content-security-policy': `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${origins}` } }),
  );
  await timed("CSP script-src 'self' only (Vite build)", () =>
    servedPage(join(vite, 'dist'), refused(/'wasm-unsafe-eval'/), { headers: { 'content-security-policy': `script-src 'self'; connect-src 'self' ${origins}` } }),
  );

  await timed('CSP connect-src without the .wasm\'s origin (Vite build)', () =>
    servedPage(join(vite, 'dist'), refused(/add http:\/\/127\.0\.0\.1:\d+ to connect-src/), { headers: { 'content-security-policy': `script-src 'self' 'wasm-unsafe-eval'; connect-src ${origins}` } }),
  );
  await timed('.wasm served as application/octet-stream (Vite build)', () =>
    servedPage(join(vite, 'dist'), worked, { types: { '.wasm': 'application/octet-stream' } }),
  );

  await timed('webpack 5 (production, no config)', async () => {
    await build('webpack', ['--mode', 'production', '--no-stats'], webpack);
    writeFileSync(join(webpack, 'dist/index.html'), '<!doctype html><meta charset="utf-8"><script src="./main.js"></script>\n');
    return servedPage(join(webpack, 'dist'), worked);
  });

  const wasmFile = join(esb, 'node_modules/polargrid-core/polargrid_wasm_bg.wasm');
  const html = (type) => `<!doctype html><meta charset="utf-8"><script ${type} src="./main.js"></script>\n`;
  await timed('esbuild --format=esm --platform=browser, .wasm copied (README)', async () => {
    await build('esbuild', ['main.js', '--bundle', '--format=esm', '--platform=browser', '--outdir=dist', '--log-level=warning'], esb);
    copyFileSync(wasmFile, join(esb, 'dist/polargrid_wasm_bg.wasm'));
    writeFileSync(join(esb, 'dist/index.html'), html('type="module"'));
    return servedPage(join(esb, 'dist'), worked);
  });
  await timed('esbuild esm, .wasm not copied', async () => {
    await build('esbuild', ['main.js', '--bundle', '--format=esm', '--platform=browser', '--outdir=nocopy', '--log-level=error'], esb);
    writeFileSync(join(esb, 'nocopy/index.html'), html('type="module"'));
    return servedPage(join(esb, 'nocopy'), refused(/did not emit polargrid_wasm_bg\.wasm.*esbuild/));
  });
  await timed('esbuild --format=iife', async () => {
    // esbuild warns that import.meta is empty in an iife: that is the case checked here.
    await build('esbuild', ['main.js', '--bundle', '--format=iife', '--platform=browser', '--outdir=iife', '--log-level=error'], esb);
    writeFileSync(join(esb, 'iife/index.html'), html(''));
    return servedPage(join(esb, 'iife'), refused(/ES module.*wasm: /));
  });
  await timed('esbuild --format=iife with { wasm: url } (README)', async () => {
    copyFileSync(wasmFile, join(esb, 'iife/polargrid_wasm_bg.wasm'));
    return servedPage(join(esb, 'iife'), worked, { query: { wasm: '/polargrid_wasm_bg.wasm' } });
  });

  await timed('import map, no bundler', async () => {
    const map = { imports: { 'polargrid-core': '/node_modules/polargrid-core/browser/index.js', 'polargrid-core/': '/node_modules/polargrid-core/' } };
    writeFileSync(join(imap, 'index.html'), `<!doctype html><meta charset="utf-8"><script type="importmap">${JSON.stringify(map)}</script><script type="module" src="./main.js"></script>\n`);
    return servedPage(imap, worked);
  });

  const nodeRun = (file) => async () => {
    const r = await run(process.execPath, [file, JSON.stringify(emu.info)], node);
    const last = r.out.trim().split('\n').at(-1);
    let res;
    try {
      res = JSON.parse(last);
    } catch {
      return [false, `exit ${r.code}: ${r.out.slice(-800)}`];
    }
    const ok = r.code === 0 && res.ok && res.models === 200 && res.chat === 200 && res.deltas > 0 && res.done;
    return [ok, ok ? `call 200, ${res.deltas} streamed deltas to [DONE]` : r.out];
  };
  await timed(`Node ${process.version} ESM (import)`, nodeRun('node.mjs'));
  await timed(`Node ${process.version} CommonJS (require)`, nodeRun('node.cjs'));

  for (const mode of ['bundler', 'node16']) {
    await timed(`tsc --noEmit, moduleResolution ${mode}`, async () => {
      const r = await run(join(BIN, 'tsc'), ['-p', `tsconfig.${mode}.json`], types);
      return [r.code === 0, r.code === 0 ? 'types check' : r.out.slice(-1500)];
    });
  }
} finally {
  await browser.close();
  await backend.close();
  emu.stop();
}

console.log('\n| toolchain | result | ms |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.toolchain} | ${r.ok ? 'ok' : '**FAIL**'}: ${r.detail.replaceAll('|', '/')} | ${r.ms} |`);
process.exit(failed ? 1 : 0);
