// The conformance adapter's client, inside the page: one client of the package's browser
// entry, calls as told, outcomes reported (tests/conformance/PROTOCOL.md). The runner
// plays the backend (it hands grants over) and uses keys, so keys are allowed here.
import { PolarGrid, PolarGridError } from '/polargrid/browser/index.js';

let pg = null;
let setup = null;
let offset = 0;
const now = () => Date.now() + offset;

class Bad extends Error {}
function need(req, field, type) {
  const v = req[field];
  const ok = type === 'integer' ? Number.isInteger(v) : typeof v === type;
  if (!ok) throw new Bad(`field ${JSON.stringify(field)} must be ${type}`);
  return v;
}

function build(c, seed, session) {
  const opts = { endpoints: c.endpoints, mode: c.mode, now, seed, allowKeyInBrowser: true };
  if (c.api_key != null) opts.apiKey = c.api_key;
  if (c.region != null) opts.region = c.region;
  if (c.base_url != null) opts.baseURL = c.base_url;
  if (c.scope != null) opts.scope = c.scope;
  if (c.failover_pinned) opts.failoverPinned = true;
  if (c.max_attempts != null) opts.maxAttempts = c.max_attempts;
  if (c.backoff_ms) Object.assign(opts, { backoffBaseMs: c.backoff_ms.base, backoffMaxMs: c.backoff_ms.max });
  if (c.request_timeout_ms != null) opts.requestTimeoutMs = c.request_timeout_ms;
  if (c.connect_timeout_ms != null) opts.connectTimeoutMs = c.connect_timeout_ms;
  if (c.call_deadline_ms != null) opts.callDeadlineMs = c.call_deadline_ms;
  if (c.auth_timeout_ms != null) opts.authTimeoutMs = c.auth_timeout_ms;
  if (session) opts.session = session;
  // Each configure is its own app: a fresh lock/storage name, so no state of an earlier
  // client in this page is shared with it.
  opts.storageKey = `conformance-${Math.random().toString(36).slice(2)}`;
  return PolarGrid.connect(opts);
}

function errorOutcome(e) {
  if (e instanceof PolarGridError) {
    return { outcome: 'error', kind: e.kind, transport: e.transport, status: e.status, retryable: e.retryable, retry_after_ms: e.retryAfterMs, request_id: e.requestId, cause: e.cause, message: e.message };
  }
  return { outcome: 'error', kind: e?.name === 'AbortError' ? 'aborted' : 'adapter_error', status: null, retryable: false, retry_after_ms: null, request_id: null, message: String(e?.message ?? e) };
}

async function oneCall(method, path, body, timeoutMs) {
  const ctrl = new AbortController();
  const init = { method, signal: ctrl.signal };
  if (body !== null && body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  let timer;
  const work = (async () => {
    try {
      const res = await pg.fetch(path, init);
      const text = await res.text();
      return { outcome: 'ready', status: res.status, region: pg.regionOf(res), stream_done: text.trimEnd().endsWith('data: [DONE]') };
    } catch (e) {
      return errorOutcome(e);
    }
  })();
  if (!timeoutMs) return work;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => {
      ctrl.abort();
      resolve({ outcome: 'error', kind: 'adapter_timeout', status: null, retryable: false, retry_after_ms: null, request_id: null, message: `no outcome within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const o = await Promise.race([work, late]);
  clearTimeout(timer);
  return o;
}

// A refresh the core starts in the background (the JWT still valid) goes through the tab
// coordination (lock, ledger) before it is sent: a few ms a Node client does not spend. So
// that the runner's next log check sees it, a call is answered once any exchange or refresh
// in flight has settled (at most 1 s; the outcomes are already fixed).
async function settle(ms = 1000) {
  const end = Date.now() + ms;
  while (Date.now() < end && pg && pg.tabs.stats.some((s) => s.outcome === undefined)) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(req) {
  const live = () => {
    if (!pg) throw new Bad('not configured');
    return pg;
  };
  if (req.cmd !== 'configure' && !pg) throw new Bad('not configured');
  switch (req.cmd) {
    case 'configure': {
      need(req, 'mode', 'string');
      if (typeof req.endpoints !== 'object' || req.endpoints === null) throw new Bad('field "endpoints" must be an object');
      pg?.close();
      pg = null;
      setup = null;
      try {
        pg = await build(req, req.seed ?? 1, null);
      } catch (e) {
        // A refused configuration: its kind (the core's ConfigError kind); unconfigured.
        if (e instanceof PolarGridError) throw Object.assign(new Bad(e.message), { kind: e.kind });
        throw e;
      }
      setup = req;
      // A page's fetch cannot tell transport failures apart (the browser column of the
      // core's table): the runner then expects opaque where others say connect, dns, ….
      // Nor see the connection phase (no connect timeout) or the raw head (Chromium's
      // parser first; then only CORS-safelisted and exposed headers): a scenario may declare
      // what a page does instead (its call's "unobserved" field, tests/conformance/README.md).
      return { opaque_transport: true, observes_connect: false, observes_head: false };
    }
    case 'call': {
      const method = need(req, 'method', 'string');
      const path = need(req, 'path', 'string');
      const count = req.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw new Bad('field "count" must be an integer >= 1');
      live();
      const outcomes = await Promise.all(Array.from({ length: count }, () => oneCall(method, path, req.body, req.timeout_ms)));
      await settle();
      return { outcomes };
    }
    case 'clock':
      offset += need(req, 'advance_ms', 'integer');
      return {};
    case 'hand_over':
      live().handOver(need(req, 'grant', 'string'));
      return {};
    case 'restart': {
      const snapshot = live().snapshot();
      pg.close();
      pg = null;
      pg = await build(setup, 2, snapshot);
      return {};
    }
    case 'logout':
      live().logout();
      return {};
    case 'session': {
      const s = live().status;
      return { status: s === 'refreshing' ? 'active' : s };
    }
    default:
      throw new Bad(`unknown cmd ${JSON.stringify(req.cmd)}`);
  }
}

window.adapter = {
  async handle(req) {
    try {
      return { ok: true, ...(await run(req)) };
    } catch (e) {
      return { ok: false, error: String(e?.message ?? e), ...(e?.kind ? { kind: e.kind } : {}) };
    }
  },
};
window.harnessReady = true;
