// The Node adapter of the conformance runner (tests/conformance/PROTOCOL.md): JSON lines
// in on stdin, JSON lines out on stdout, one client of the npm package, no decisions.
import { createInterface } from 'node:readline';
import { PolarGrid, PolarGridError } from '../npm/index.js';

let pg = null;
let setup = null; // the last configure request
let offset = 0; // the client's clock: wall time + the sum of all advances
const now = () => Date.now() + offset;

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const log = (...a) => console.error('[node adapter]', ...a);

class Bad extends Error {}
function need(req, field, type) {
  const v = req[field];
  const ok = type === 'integer' ? Number.isInteger(v) : type === 'string?' ? v === null || v === undefined || typeof v === 'string' : typeof v === type;
  if (!ok) throw new Bad(`field ${JSON.stringify(field)} must be ${type}`);
  return v;
}

async function build(c, seed, session) {
  const opts = { endpoints: c.endpoints, mode: c.mode, now, seed };
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

async function handle(req) {
  if (!setup && req.cmd !== 'configure' && req.cmd !== 'close') throw new Bad('not configured');
  const live = () => {
    if (!pg) throw new Bad('not configured');
    return pg;
  };
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
      return {};
    }
    case 'call': {
      const method = need(req, 'method', 'string');
      const path = need(req, 'path', 'string');
      const count = req.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw new Bad('field "count" must be an integer >= 1');
      live();
      const outcomes = await Promise.all(Array.from({ length: count }, () => oneCall(method, path, req.body, req.timeout_ms ?? 30000)));
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
      return { status: s === 'refreshing' ? 'active' : s === 'exchanging' ? 'exchanging' : s };
    }
    case 'close':
      return {};
    default:
      throw new Bad(`unknown cmd ${JSON.stringify(req.cmd)}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
let closing = false;
lines.on('line', (line) => {
  queue = queue.then(async () => {
    if (closing) return;
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return out({ id: null, ok: false, error: 'not a JSON line' });
    }
    const id = Number.isInteger(req?.id) ? req.id : null;
    if (typeof req !== 'object' || req === null || typeof req.cmd !== 'string') return out({ id, ok: false, error: 'no cmd' });
    try {
      const fields = await handle(req);
      out({ id, ok: true, ...fields });
    } catch (e) {
      if (!(e instanceof Bad)) log(req.cmd, 'failed:', e?.message ?? e);
      out({ id, ok: false, error: String(e?.message ?? e), ...(e?.kind ? { kind: e.kind } : {}) });
    }
    if (req.cmd === 'close') {
      closing = true;
      pg?.close();
      process.exit(0);
    }
  });
});
lines.on('close', () => {
  queue.then(() => {
    pg?.close();
    process.exit(0);
  });
});
