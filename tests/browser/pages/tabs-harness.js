// Drives the browser entry's tab coordination (the real core in wasm, browser/tabs.js for
// the IO) against the real emulator: each page holds one client; the test moves the
// clocks past the JWT's expiry and lets the pages call, so each core asks to refresh.
// The core decides whether this tab sends, adopts or withholds; the stats say which.
import { PolarGrid } from '/polargrid/browser/index.js';

const cfg = await (await fetch('/config.json')).json();
const { endpoints } = cfg;
const AUTH = endpoints.auth;
const EDGE = endpoints.regions[0].url;

let pg = null;
let offset = 0; // the page's clock: wall time + what the test moved it by
let raw = null; // the JWT of an uncoordinated refresh (the control test)
const now = () => Date.now() + offset;

async function mint() {
  const r = await fetch('/session', { method: 'POST' });
  if (!r.ok) throw new Error(`mint ${r.status}`);
  return r.json();
}

const storages = {
  throws: { get() { throw new Error('boom'); }, set() { throw new Error('boom'); }, remove() { throw new Error('boom'); } },
  hangs: { get: () => new Promise(() => {}), set: () => new Promise(() => {}), remove: () => new Promise(() => {}) },
};

function connect(opts = {}) {
  return PolarGrid.connect({
    endpoints,
    now,
    getSession: mint,
    storageKey: opts.name || 'h',
    storage: storages[opts.storage] || opts.storage,
    lockTimeoutMs: opts.lockTimeoutMs,
    storageTimeoutMs: opts.storageTimeoutMs ?? 300,
    ...(opts.snapshot ? { session: opts.snapshot } : {}),
  });
}

const heldLocks = async () => {
  const q = await navigator.locks.query();
  const mine = (l) => !l.name.endsWith(':open');
  return { held: q.held.filter(mine).length, pending: q.pending.filter(mine).length };
};

async function call() {
  try {
    const r = await pg.fetch('/v1/models');
    await r.text();
    return r.status;
  } catch (e) {
    return `${e.name}:${e.kind}`;
  }
}

window.harness = {
  async start(opts = {}) {
    pg = await connect(opts);
    return pg.status;
  },
  snapshot: () => pg.snapshot(),
  shift(ms) {
    offset += ms;
  },
  // One call past the expiry: the core asks to refresh (or has adopted another tab's
  // session already). The outcome of this tab's guarded request, if it made one.
  async refresh() {
    const n = pg.tabs.stats.length;
    const status = await call();
    const s = pg.tabs.stats.slice(n).find((x) => x.kind === 'refresh') || pg.tabs.stats[n];
    // The call may be answered before the lock is released (the publish is bounded).
    while (s && s.outcome === undefined) await new Promise((r) => setTimeout(r, 10));
    return { kind: s ? s.outcome : 'none', why: s && s.why, status };
  },
  // The same refresh without the coordinator: what tabs did before Web Locks.
  async rawRefresh() {
    const res = await fetch(`${AUTH}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: JSON.parse(pg.snapshot()).refresh_token }),
    });
    raw = res.ok ? (await res.json()).session_token : JSON.parse(pg.snapshot()).session_token;
    return res.status;
  },
  async call() {
    if (!raw) return call();
    return (await fetch(`${EDGE}/v1/models`, { headers: { authorization: `Bearer ${raw}` } })).status;
  },
  // A page that takes the lock and never gives it back: a frozen tab.
  freeze(name = 'h') {
    navigator.locks.request(`polargrid-session:${name}`, () => new Promise(() => {}));
    return navigator.locks.query().then((q) => q.held.length);
  },
  inLock: () => !!pg && pg.tabs.stats.some((s) => s.lockWaitMs !== undefined && s.outcome === undefined),
  waiting: () => !!pg && pg.tabs.stats.some((s) => s.lockWaitMs === undefined && s.outcome === undefined),
  heldLocks,
  close() {
    pg.close();
  },
  // Strict Mode: connect, close and connect again within one tick.
  async remount(opts = {}) {
    const first = connect(opts);
    const unmounted = first.then((a) => a.close());
    const second = connect(opts);
    await unmounted;
    pg = await second;
    return heldLocks();
  },
  stats: () => pg.tabs.stats.map(({ t0, ...s }) => s),
};
window.harnessReady = true;
