// Start-up, printed (never asserted): navigation → first successful call of a cold page in
// headless Chromium, median of N fresh contexts (no cache), unthrottled and throttled like
// Chrome DevTools' "Slow 4G" (562.5 ms RTT, 1.6 Mbps down, 750 kbps up, ×0.9 as Lighthouse
// applies them). The page is tests/bundlers/app (handoff: getSession from a backend on another
// origin, then GET /v1/models) built by Vite from the packed package, served gzipped (level 9) with the wasm
// as application/wasm, against the emulator.
// Given several packages (before/after), loads alternate A B A B… so a machine whose speed
// drifts affects both alike; the ratio is taken pair by pair.
//   node tests/bundlers/startup.mjs <work dir> <loads> <label>=<polargrid-core-….tgz>...
import { join } from 'node:path';
import { startEmulator } from '../browser/lib.mjs';
import { BIN, launchBrowser, makeApp, run, serveDir, startBackend } from './lib.mjs';

const [work, loads, ...packages] = process.argv.slice(2);
const N = Number(loads);
const SLOW_4G = { latency: 562.5, downloadThroughput: (1.6e6 * 0.9) / 8, uploadThroughput: (750e3 * 0.9) / 8 };

const apps = [];
for (const [i, spec] of packages.entries()) {
  const [label, tarball] = spec.split('=');
  const app = await makeApp(work, `startup-${i}`, { 'index.html': 'index.html', 'main.js': 'main.js' }, tarball);
  const built = await run(join(BIN, 'vite'), ['build', '--logLevel', 'error'], app);
  if (built.code !== 0) throw new Error(`vite build: ${built.out}`);
  apps.push({ label, dir: join(app, 'dist') });
}

const emu = await startEmulator();
const backend = await startBackend(emu.info);
const sites = await Promise.all(apps.map((a) => serveDir(a.dir, {}, { gzip: true })));
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// The median at main 72704ee (this script, 5 loads, 2026-12-03, 2-core machine under a load
// average of ~12), in ms: the baseline of `make bench`'s closing table (scripts/bench-record.sh).
const BASELINE_MS = { unthrottled: 318, 'slow 4G': 4044 };
try {
  for (const [name, throttle] of [['unthrottled', undefined], ['slow 4G', SLOW_4G]]) {
    const times = apps.map(() => []);
    const timelines = apps.map(() => []);
    for (let i = 0; i < N; i++) {
      for (const [k, site] of sites.entries()) {
        const r = await browser.page(site.url, { backend: backend.url, throttle });
        if (!r.ok) throw new Error(`the page failed: ${JSON.stringify(r)}`);
        times[k].push(Math.round(r.firstCallMs));
        timelines[k].push(r.timeline);
      }
    }
    for (const [k, a] of apps.entries()) {
      console.log(`${a.label}: navigation -> first call, ${name}: median ${median(times[k])} ms of ${N} cold loads (${times[k].join(', ')})`);
    }
    // The requests of the last package's median load: [name, start, end] ms.
    const last = times.length - 1;
    const fields = [`web: navigation -> first call, ${name}`, median(times[last]), 'ms', BASELINE_MS[name] ?? '-', '-'];
    console.log(['bench-figure', ...fields].join('\t'));
    const mid = times[last].indexOf(median(times[last]));
    console.log(`  ${apps[last].label}, ${name}, requests of the median load (start-end ms): ${timelines[last][mid].map(([n, a, b]) => `${n} ${a}-${b}`).join(', ')}`);
    if (apps.length === 2) {
      const ratios = times[1].map((t, i) => t / times[0][i]);
      console.log(`  ${apps[1].label}/${apps[0].label}, ${name}: median ratio of pairs ${median(ratios).toFixed(2)}`);
    }
  }
} finally {
  await browser.close();
  for (const s of sites) await s.close();
  await backend.close();
  emu.stop();
}
