// The package's browser entry driven by the tests. It logs what a careless app would
// (session events, errors as objects and JSON) so the suite can check no secret shows.
import { PolarGrid } from '/polargrid/browser/index.js';

const { endpoints } = await (await fetch('/config.json')).json();
const mint = async () => {
  const r = await fetch('/session', { method: 'POST' });
  if (!r.ok) throw new Error(`mint ${r.status}`);
  return r.json();
};
// The page's clock: wall time + what the test moved it by (the emulator's moves alike).
let offset = 0;
const now = () => Date.now() + offset;
const describe = (e) => ({ name: e.name, kind: e.kind, message: e.message, fix: e.fix, cause: e.cause });

window.sdk = {
  async connect(opts = {}) {
    const { withGetSession = true, ...rest } = opts;
    window.pg = await PolarGrid.connect({
      endpoints,
      now,
      ...(withGetSession ? { getSession: mint } : {}),
      onSession: (s) => console.log('session', s.reason, s.sessionId, s.expiresAt),
      ...rest,
    });
    pg.on('sessionEnded', (e) => console.log('session ended', e.error, JSON.stringify(e.error)));
    return pg.status;
  },
  async connectResult(opts) {
    try {
      await window.sdk.connect(opts);
      return { ok: true, status: await window.sdk.call() };
    } catch (e) {
      console.log('connect failed', e, JSON.stringify(e));
      return { ok: false, error: describe(e), json: JSON.stringify(e), stack: String(e.stack) };
    }
  },
  async call() {
    try {
      const r = await pg.fetch('/v1/models');
      await r.text();
      return r.status;
    } catch (e) {
      console.log('call failed', e, JSON.stringify(e));
      return `${e.name}:${e.kind}`;
    }
  },
  shift(ms) {
    offset += ms;
  },
  // `n` calls at once; their statuses.
  calls: (n) => Promise.all(Array.from({ length: n }, () => window.sdk.call())),
  // A call the edge refuses (unknown model): the error is logged as an app would.
  async failingCall() {
    try {
      await pg.fetch('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      return 'resolved';
    } catch (e) {
      console.log('call failed', e, JSON.stringify(e), e.stack);
      return `${e.name}:${e.kind}`;
    }
  },
  // Calls every `everyMs` until `pastExpiryMs` after the current session's expiry (and
  // well before its successor is due), all statuses.
  async loop(pastExpiryMs, everyMs) {
    const out = [];
    const end = JSON.parse(pg.snapshot()).expires_at_ms + pastExpiryMs;
    while (Date.now() < end) {
      out.push(await window.sdk.call());
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return out;
  },
  // connect with a raw key from a module worker
  workerConnect(apiKey, allow = false) {
    const w = new Worker('/pages/worker.js', { type: 'module' });
    return new Promise((resolve) => {
      w.onmessage = (e) => {
        w.terminate();
        resolve(e.data);
      };
      w.onerror = (e) => resolve({ ok: false, name: 'worker error', message: e.message });
      w.postMessage({ apiKey, endpoints, allow });
    });
  },
  // A lock held forever: a frozen tab.
  freeze(name = 'default') {
    navigator.locks.request(`polargrid-session:${name}`, () => new Promise(() => {}));
  },
  inLock: () => !!window.pg && pg.tabs.stats.some((s) => s.lockWaitMs !== undefined && s.outcome === undefined),
  snapshot: () => window.pg && pg.snapshot(),
  stats: () => pg.tabs.stats.map(({ t0, ...s }) => s),
  // React Strict Mode: mount, unmount, mount again in one tick.
  async remount(opts = {}) {
    const first = PolarGrid.connect({ endpoints, getSession: mint, ...opts });
    const unmounted = first.then((a) => a.close()); // the effect's cleanup
    const second = PolarGrid.connect({ endpoints, getSession: mint, ...opts }); // same tick
    await unmounted;
    window.pg = await second;
    const q = await navigator.locks.query();
    // A live client holds one shared presence lock (`…:open`) while open.
    const open = q.held.filter((l) => l.name.endsWith(':open')).length;
    return { held: q.held.length - open, pending: q.pending.length, present: open };
  },
  close: () => pg.close(),
};
window.harnessReady = true;
