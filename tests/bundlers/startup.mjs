// Start-up, printed (never asserted): navigation → first successful call of a cold page in
// headless Chromium, median of N fresh contexts (no cache), unthrottled and throttled like
// Chrome DevTools' "Slow 4G" (562.5 ms RTT, 1.6 Mbps down, 750 kbps up, ×0.9 as Lighthouse
// applies them). The page is tests/bundlers/app (handoff: getSession from a backend on another
// origin, then GET /v1/models) built by Vite from the packed package, served with the wasm as
// application/wasm, against the emulator.
//   node tests/bundlers/startup.mjs <work dir> <polargrid-core-….tgz> [label] [loads]
import { join } from 'node:path';
import { startEmulator } from '../browser/lib.mjs';
import { BIN, launchBrowser, makeApp, run, serveDir, startBackend } from './lib.mjs';

const [work, tarball, label = 'polargrid-core', loads = '5'] = process.argv.slice(2);
const N = Number(loads);
const SLOW_4G = { latency: 562.5, downloadThroughput: (1.6e6 * 0.9) / 8, uploadThroughput: (750e3 * 0.9) / 8 };

const app = await makeApp(work, 'startup', { 'index.html': 'index.html', 'main.js': 'main.js' }, tarball);
const built = await run(join(BIN, 'vite'), ['build', '--logLevel', 'error'], app);
if (built.code !== 0) throw new Error(`vite build: ${built.out}`);

const emu = await startEmulator();
const backend = await startBackend(emu.info);
const site = await serveDir(join(app, 'dist'));
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  for (const [name, throttle] of [['unthrottled', undefined], ['slow 4G', SLOW_4G]]) {
    const times = [];
    for (let i = 0; i < N; i++) {
      const r = await browser.page(site.url, { backend: backend.url, throttle });
      if (!r.ok) throw new Error(`the page failed: ${JSON.stringify(r)}`);
      times.push(r.firstCallMs);
    }
    const ms = times.map((t) => Math.round(t));
    console.log(`${label}: navigation -> first call, ${name}: median ${median(ms)} ms of ${N} cold loads (${ms.join(', ')})`);
  }
} finally {
  await browser.close();
  await site.close();
  await backend.close();
  emu.stop();
}
