// `make bench-tabs` (scripts/bench-tabs.sh): the refresh coordination of the browser entry in
// headless Chromium against the real emulator, printed, never asserted. Each figure is the
// median of RUNS runs, with the lowest and highest (the noise).
// - n tabs sharing a session (localStorage) all wake past the JWT's expiry and call at once:
//   time from that moment to every tab holding the one new session, and the refresh and
//   exchange requests the emulator saw;
// - n tabs opening with memory storage: exchanges (getSession calls) the emulator saw, and
//   the time to the last tab's first successful call;
// - a tab whose lock holder is frozen (holds the lock forever) or closed mid-refresh: the
//   time from its call to that call's answer.
import { exchanges, launch, refreshes, startEmulator, startPages } from './lib.mjs';

const RUNS = Number(process.env.RUNS || 5);
const DAY_MS = 86_400_000;
const emu = await startEmulator();
const web = await startPages(emu);
const browser = await launch();
let seq = 0;

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v, unit = 'ms') => `${median(v).toFixed(0)} ${unit} (min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)})`;
const counts = (v) => `${median(v)} (min ${Math.min(...v)}, max ${Math.max(...v)})`;

async function fresh() {
  await emu.admin('/admin/config', { jwt_ttl_s: 86400 });
  await emu.admin('/admin/clock', { offset_ms: 0 });
  await emu.admin('/admin/fault', { target: 'auth', kind: 'clear' });
  await emu.admin('/admin/log/clear', {});
}
async function page() {
  const p = await browser.page(`${web.url}/pages/sdk.html`);
  // Real time of every session change (the page's `now` may be moved; Date.now is not).
  await p.evaluate(() => {
    window.changes = [];
  });
  return p;
}
async function connect(p, opts) {
  await p.evaluate((o) => sdk.connect(o), opts);
  await p.evaluate(() => pg.on('session', (e) => e.snapshot && window.changes.push(Date.now())));
}
async function jump(ms, ps) {
  await emu.admin('/admin/clock', { advance_ms: ms });
  for (const p of ps) await p.evaluate((m) => sdk.shift(m), ms);
}
const token = (p) => p.evaluate(() => JSON.parse(sdk.snapshot()).session_token);

async function sharedExpiry(n) {
  await fresh();
  const ps = [];
  for (let i = 0; i < n; i++) ps.push(await page());
  const storageKey = `bench-exp-${n}-${seq++}`;
  for (const p of ps) await connect(p, { storage: 'localStorage', storageKey });
  const before = new Set(await Promise.all(ps.map(token)));
  await jump(DAY_MS + 10_000, ps);
  const t0 = Date.now();
  const statuses = await Promise.all(ps.map((p) => p.evaluate(() => sdk.call())));
  const after = new Set(await Promise.all(ps.map(token)));
  const firsts = await Promise.all(ps.map((p) => p.evaluate((t) => window.changes.find((x) => x >= t), t0)));
  const ok = statuses.every((s) => s === 200) && after.size === 1 && ![...after].some((t) => before.has(t)) && firsts.every((x) => x);
  const r = { ms: Math.max(...firsts) - t0, refreshes: (await refreshes(emu)).length, exchanges: (await exchanges(emu)).length, ok, statuses, sessions: after.size };
  for (const p of ps) await p.close();
  return r;
}

async function memoryOpen(n) {
  await fresh();
  const ps = [];
  for (let i = 0; i < n; i++) ps.push(await page());
  const storageKey = `bench-mem-${n}-${seq++}`;
  const t0 = Date.now();
  const statuses = [];
  for (const p of ps) {
    await connect(p, { storageKey });
    statuses.push(await p.evaluate(() => sdk.call()));
  }
  const ms = Date.now() - t0;
  const sessions = new Set(await Promise.all(ps.map(token))).size;
  const r = { ms, exchanges: (await exchanges(emu)).length, sessions, ok: statuses.every((s) => s === 200) };
  for (const p of ps) await p.close();
  return r;
}

async function frozenHolder() {
  await fresh();
  const frozen = await page();
  const p = await page();
  const storageKey = `bench-frz-${seq++}`;
  await frozen.evaluate((k) => sdk.freeze(k), storageKey);
  await connect(p, { storageKey });
  await jump(DAY_MS + 10_000, [p]);
  const t0 = Date.now();
  const status = await p.evaluate(() => sdk.call());
  const r = { ms: Date.now() - t0, ok: status === 200, refreshes: (await refreshes(emu)).length };
  await frozen.close();
  await p.close();
  return r;
}

async function closedHolder() {
  await fresh();
  const a = await page();
  const b = await page();
  const storageKey = `bench-cls-${seq++}`;
  for (const p of [a, b]) await connect(p, { storage: 'localStorage', storageKey });
  await jump(DAY_MS + 10_000, [a, b]);
  await emu.admin('/admin/fault', { target: 'auth', kind: 'slow', delay_ms: 1500 });
  a.evaluate(() => sdk.call()).catch(() => {}); // a takes the lock and sends (slowed)
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const bCall = b.evaluate(() => sdk.call());
  await new Promise((r) => setTimeout(r, 50));
  await a.close(); // the lock holder vanishes mid-refresh
  const status = await bCall;
  const r = { ms: Date.now() - t0, ok: status === 200, refreshes: (await refreshes(emu)).length, reused: (await refreshes(emu)).filter((e) => e.status !== 200).length };
  await b.close();
  return r;
}

async function runs(name, fn) {
  const out = [];
  for (let i = 0; i < RUNS; i++) out.push(await fn());
  const bad = out.filter((r) => !r.ok);
  if (bad.length) console.log(`# ${name}: ${bad.length} of ${RUNS} runs did not end with every tab on one working session: ${JSON.stringify(bad)}`);
  return out;
}

try {
  console.log(`== tab coordination in headless Chromium (median of ${RUNS} runs; min, max)`);
  for (const n of [2, 5]) {
    const r = await runs(`${n} tabs at expiry`, () => sharedExpiry(n));
    console.log(`${n} tabs (localStorage) wake past expiry and call: every tab on the new session after ${fmt(r.map((x) => x.ms))}; refresh requests ${counts(r.map((x) => x.refreshes))}; exchanges ${counts(r.map((x) => x.exchanges))}`);
  }
  for (const n of [2, 5]) {
    const r = await runs(`${n} tabs open`, () => memoryOpen(n));
    console.log(`${n} tabs open one after another (memory storage): exchanges ${counts(r.map((x) => x.exchanges))}, distinct sessions ${counts(r.map((x) => x.sessions))}, last tab's first call after ${fmt(r.map((x) => x.ms))}`);
  }
  const f = await runs('frozen holder', frozenHolder);
  console.log(`lock holder frozen: the call of the tab needing a refresh answered after ${fmt(f.map((x) => x.ms))} (default lock wait); refresh requests ${counts(f.map((x) => x.refreshes))}`);
  const c = await runs('closed holder', closedHolder);
  console.log(`lock holder closed mid-refresh (auth slowed 1.5 s): the other tab's call answered after ${fmt(c.map((x) => x.ms))}; refresh requests ${counts(c.map((x) => x.refreshes))}, refused (reused) ${counts(c.map((x) => x.reused))}`);
} finally {
  await browser.close();
  await web.close();
  emu.stop();
}
