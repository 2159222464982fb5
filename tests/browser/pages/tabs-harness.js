// Drives TabSession alone (no core) against the real emulator: each page holds a session
// and, when told, refreshes it through the coordinator exactly as the driver would. The
// test decides when; the module decides whether this tab sends, adopts or falls back.
import { TabSession } from '/polargrid/browser/tabs.js';

const cfg = await (await fetch('/config.json')).json();
const AUTH = cfg.endpoints.auth;
const EDGE = cfg.endpoints.regions[0].url;

function snapshotOf(grant) {
  return JSON.stringify({
    schema_version: 1,
    session_token: grant.session_token,
    refresh_token: grant.refresh_token,
    session_id: grant.session_id,
    expires_at_ms: Date.now() + grant.expires_in * 1000,
    refresh_expires_at_ms: null,
  });
}

let tabs = null;
let current = null; // parsed snapshot
let armed = null;
const log = [];

function use(json, how) {
  current = JSON.parse(json);
  tabs.noteSession(json);
  log.push(how);
}

async function mint() {
  const r = await fetch('/session', { method: 'POST' });
  if (!r.ok) throw new Error(`mint ${r.status}`);
  return snapshotOf(await r.json());
}

const storages = {
  throws: { get() { throw new Error('boom'); }, set() { throw new Error('boom'); }, remove() { throw new Error('boom'); } },
  hangs: { get: () => new Promise(() => {}), set: () => new Promise(() => {}), remove: () => new Promise(() => {}) },
};

window.harness = {
  async start(opts = {}) {
    tabs = new TabSession({
      name: opts.name || 'h',
      storage: storages[opts.storage] || opts.storage,
      lockTimeoutMs: opts.lockTimeoutMs ?? 2000,
      storageTimeoutMs: opts.storageTimeoutMs ?? 300,
      adoptWaitMs: opts.adoptWaitMs ?? 1000,
      onRemoteSession: (json) => use(json, 'remote'),
    });
    const stored = await tabs.stored();
    if (stored) use(stored.json, 'stored');
    else if (opts.snapshot) { use(opts.snapshot, 'given'); await tabs.publish(opts.snapshot); }
    else if (opts.mint) { const s = await mint(); use(s, 'minted'); await tabs.publish(s); }
    return current && current.session_id;
  },
  snapshot: () => JSON.stringify(current),
  // The core of every tab asks to refresh the session it holds now (a test arms all
  // tabs first, then lets them go, so each request is for the same session).
  arm() { armed = current; },
  // One refresh as the core would ask for it, through the coordinator.
  async refresh() {
    const before = armed || current;
    armed = null;
    const r = await tabs.guard(
      { kind: 'refresh', refreshToken: before.refresh_token, currentExp: before.expires_at_ms },
      {
        send: async () => {
          window.sending = true;
          const res = await fetch(`${AUTH}/v1/auth/refresh`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ refresh_token: before.refresh_token }),
          });
          if (!res.ok) { log.push(`refresh-${res.status}`); return { snapshot: null }; }
          const s = snapshotOf(await res.json());
          use(s, 'refreshed');
          return { snapshot: s };
        },
        adopt: async (json) => use(json, 'adopted'),
        fallback: async (why) => { const s = await mint(); use(s, `fallback:${why}`); await tabs.publish(s); },
      },
    );
    return r;
  },
  // The same request without the coordinator: what tabs did before Web Locks.
  async rawRefresh() {
    const res = await fetch(`${AUTH}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    });
    if (res.ok) use(snapshotOf(await res.json()), 'raw');
    return res.status;
  },
  async call() {
    const r = await fetch(`${EDGE}/v1/models`, { headers: { authorization: `Bearer ${current.session_token}` } });
    return r.status;
  },
  // A page that takes the lock and never gives it back: a frozen tab.
  freeze(name = 'h') {
    navigator.locks.request(`polargrid-session:${name}`, () => new Promise(() => {}));
    return navigator.locks.query().then((q) => q.held.length);
  },
  close() { tabs.close(); },
  // Strict Mode: create, close and create again within one tick, lock request in flight.
  async remount(opts = {}) {
    const a = new TabSession({ name: opts.name || 'h', lockTimeoutMs: 2000 });
    const pending = a.guard({ kind: 'exchange', currentExp: 0 }, {
      send: () => new Promise(() => {}), adopt: async () => {}, fallback: async () => {},
    });
    a.close();
    tabs = new TabSession({ name: opts.name || 'h', lockTimeoutMs: 2000, onRemoteSession: (j) => use(j, 'remote') });
    const first = await pending;
    return { first: first.kind, held: (await navigator.locks.query()).held.length };
  },
  // HMR: the client is torn down while its request holds the lock.
  async holdAndClose(name) {
    const a = new TabSession({ name, lockTimeoutMs: 2000 });
    let entered;
    const inLock = new Promise((r) => (entered = r));
    const p = a.guard({ kind: 'exchange', currentExp: 0 }, {
      send: () => { entered(); return new Promise(() => {}); }, adopt: async () => {}, fallback: async () => {},
    });
    await inLock;
    const heldBefore = (await navigator.locks.query()).held.length;
    a.close();
    const r = await p;
    return { heldBefore, heldAfter: (await navigator.locks.query()).held.length, kind: r.kind };
  },
  stats: () => tabs.stats.map(({ t0, ...s }) => s),
  log: () => log.slice(),
};
window.harnessReady = true;
