// polargrid-core for JavaScript: the driver around the wasm core. It sends what the core
// asks for with the `fetch` it was given, feeds the answers back, keeps one timer armed at
// the core's next deadline and dispatches events. Every decision (when to refresh, where to
// route, whether to retry, how to classify a failure) is the core's.
import { Core, Ids, Link, Options, instantiate } from './wasm.js';
import { PolarGridError, SEP, abortError, configError, fromCore, num } from './error.js';

export { PolarGridError };

const METHODS = new Map([['GET', 0], ['POST', 1], ['PUT', 2], ['DELETE', 3], ['PATCH', 4], ['HEAD', 5]]);
const STRING_OPTIONS = ['apiKey', 'mode', 'region', 'baseURL', 'scope'];
const NUMBER_OPTIONS = ['maxAttempts', 'backoffBaseMs', 'backoffMaxMs', 'requestTimeoutMs', 'connectTimeoutMs', 'authTimeoutMs', 'callDeadlineMs'];
const OTHER_OPTIONS = ['session', 'endpoints', 'fetch', 'now', 'onSession', 'seed', 'failoverPinned'];
// The browser entry's fetch, told each request's purpose (exchange, refresh, discover,
// call) by the core: `(purpose, url, init, id) => Promise<Response>`. A symbol, not an option.
export const PURPOSE_FETCH = Symbol.for('polargrid-core.purposeFetch');
// `pg[TAB_LINK]()`: the core's inputs and outputs for tabs sharing a session (browser/tabs.js).
export const TAB_LINK = Symbol.for('polargrid-core.tabLink');
// Set by the browser entry: a page's fetch cannot see connects (no connect timeout, no "not
// connected yet"), so the core watches the connect timeout itself (route.rs, "Unobserved connects").
export const CONNECT_UNOBSERVED = Symbol.for('polargrid-core.connectUnobserved');
const EVENTS = ['session', 'region', 'sessionEnded'];
const INTERNAL = Symbol('internal');
const NO_INIT = Object.freeze({});
// An AbortController serves at most this many requests one after another, and this many
// wait for their next one (see PolarGrid#send).
const SPARE_USES = 32;
const SPARE_MAX = 16;

let loading;

/**
 * Fetches and compiles the wasm core, once (`connect` calls it; call it earlier to start the
 * download sooner). `wasm`: where it is when not next to this file — a URL, a `Response`
 * (or a promise of one), a compiled `WebAssembly.Module` or the bytes.
 */
export function load(wasm) {
  if (!loading) {
    loading = instantiate(wasm);
    loading.catch(() => (loading = undefined)); // a later connect tries again
  }
  return loading;
}

/** Whether `v` (JSON or an object) is a session snapshot the core wrote, not a grant
 * (`wasm`: as for `load`). */
export async function isSessionSnapshot(v, wasm) {
  await load(wasm);
  return Core.is_snapshot(typeof v === 'string' ? v : JSON.stringify(v));
}

/** A bound of the tab layer in ms, from the core: 'storage', 'ask' or 'ledgerKeep'. */
export async function tabWaitMs(name, wasm) {
  await load(wasm);
  return Core.tab_wait_ms(name);
}

const IN_NODE = !!globalThis.process?.versions?.node;

// The platform's failure → the core's TransportErrorKind, in Node (undici), exactly as
// the table "The transport contract" in core/src/lib.rs says:
//   ENOTFOUND, EAI_AGAIN → dns; ECONNREFUSED, EHOSTUNREACH, ENETUNREACH → connect;
//   ERR_TLS_*, ERR_SSL_*, CERT_* (and OpenSSL's verify codes) → tls;
//   UND_ERR_CONNECT_TIMEOUT → connect_timeout; ECONNRESET, UND_ERR_SOCKET → aborted,
//   and UND_ERR_RES_CONTENT_LENGTH_MISMATCH (the connection ended inside the body: what
//   undici says for a reset after the head) → aborted; HPE_* (llhttp) and
//   UND_ERR_HEADERS_OVERFLOW (a head over the core's 64 KiB) → protocol.
//   Anything else says nothing the table knows: opaque.
// ("no answer in time → timeout" is the core's own deadline, never an error here.)
function nodeTransportKind(e) {
  for (let c = e, depth = 0; c && depth < 4; c = c.cause, depth++) {
    const codes = [c.code, ...(Array.isArray(c.errors) ? c.errors.map((x) => x?.code) : [])];
    for (const code of codes.map((x) => String(x ?? ''))) {
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
      if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect';
      if (/^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)_)/.test(code)) return 'tls';
      if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect_timeout';
      if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'aborted';
      if (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW') return 'protocol';
    }
  }
  return 'opaque';
}

// The platform's failure → the core's TransportErrorKind in a page (the same table's
// browser column): fetch rejects with a bare TypeError for refused, DNS, TLS, reset, CORS,
// CSP and offline alike, so every failure is opaque; the core decides what that means.
function pageTransportKind(_e) {
  return 'opaque';
}

const transportKind = IN_NODE ? nodeTransportKind : pageTransportKind;

// Node's fetch (undici) connects with its global dispatcher's 10 s timeout; a request's
// own connect_timeout needs an Agent of the same class with that timeout (one per value),
// heads up to the core's 64 KiB (undici's default is 16), and no timeouts of undici's own
// (the core's deadlines rule; a stream's body is never cut). Only when the global
// dispatcher is undici's default Agent: one the app set up (a proxy, a CA) is kept.
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const MAX_HEAD = 64 * 1024;
// Each client has its own agents (its connection pool), all closed by close().
function connectAgent(agents, ms) {
  if (!IN_NODE) return undefined;
  let a = agents.get(ms);
  if (a !== undefined) return a;
  if (!globalThis[GLOBAL_DISPATCHER]) {
    try {
      new Request('http://127.0.0.1/'); // loads undici, which installs its global dispatcher
    } catch {}
  }
  const g = globalThis[GLOBAL_DISPATCHER];
  const Agent = g?.constructor;
  a = typeof Agent === 'function' && Agent.name === 'Agent' && isDefaultAgent(g)
    ? new Agent({ connect: { timeout: ms }, maxHeaderSize: MAX_HEAD, headersTimeout: 0, bodyTimeout: 0 })
    : null;
  if (a) a.pool = agents;
  agents.set(ms, a);
  return a;
}

// Node's own default Agent has empty options; an Agent the app installed with options of
// its own (a CA, a proxy, a socket path) is kept as it is.
function isDefaultAgent(g) {
  const key = Object.getOwnPropertySymbols(g).find((k) => k.description === 'options');
  const o = key && g[key];
  return !!o && typeof o === 'object' && Object.values(o).every((v) => v === undefined);
}

// After a request is aborted or fails, undici (Node 20) opens a fresh connection to the
// same origin that carries nothing and lingers for its keep-alive time (seconds). So the
// Agent that carried it is retired: later requests get a new one, and the old one closes
// every connection as soon as its other requests (a stream) are done.
function retireAgent(a) {
  if (!a || a.retired) return;
  a.retired = true;
  for (const [k, v] of a.pool) if (v === a) a.pool.delete(k);
  a.close().catch(() => {});
}

function newController() {
  const c = new AbortController();
  c.uses = 0;
  c.agent = undefined;
  return c;
}

function abortRequest(ctrl, reason) {
  ctrl.abort(reason);
  retireAgent(ctrl.agent);
}

// The first `limit` bytes of an answer's body (the most the core reads, as its request says).
async function bodyPrefix(res, limit) {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks = [];
  let n = 0;
  while (n < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
  }
  reader.cancel().catch(() => {});
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) (all.set(c, at), (at += c.length));
  return all.subarray(0, limit);
}

function randomSeed() {
  const a = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return a[0] * 2 ** 21 + (a[1] >>> 11);
}

export class PolarGrid {
  #core;
  #fetch;
  #now;
  #calls = new Ids(); // call id → { resolve, reject, init, headers, signal, onAbort, ctrl }
  #inflight = new Ids(); // request id → AbortController
  // The 2xx answer being handed to the core (request id, Response), until the core makes it
  // a call's answer: only ever one, as the core answers at once (see #send).
  #heldId = 0;
  #held = null;
  #listeners = new Map(EVENTS.map((e) => [e, new Set()]));
  // A response's region: a property under this client's own symbol (a WeakMap entry per call
  // costs ~1 µs of collection), in the WeakMap only for a response that takes no property.
  #regionKey = Symbol('polargrid-core.region');
  #regions = new WeakMap();
  #timer = null;
  #timerAt = -1;
  #refd = true;
  #timerNow = false; // the timer is armed to fire at once
  #region = null;
  #hintLimit; // 0: no model hint (see #call)
  #purposeFetch = null;
  #agents = new Map(); // connect timeout ms → undici Agent (Node's own fetch only)
  #link = null; // the core's side of the crossing (wasm.js)
  #spare = []; // AbortControllers whose last request is over, never aborted (see #send)

  /** Checks the options and builds a client; no request is made until the first call. */
  static async connect(options = {}) {
    const { wasm, ...rest } = options;
    await load(wasm);
    return new PolarGrid(rest, INTERNAL);
  }

  constructor(opts, token) {
    if (token !== INTERNAL) throw new TypeError('use `await PolarGrid.connect(options)`');
    for (const k of Object.keys(opts)) {
      if (!STRING_OPTIONS.includes(k) && !NUMBER_OPTIONS.includes(k) && !OTHER_OPTIONS.includes(k)) {
        throw configError(`unknown option ${JSON.stringify(k)}`, `use only ${[...STRING_OPTIONS, ...NUMBER_OPTIONS, ...OTHER_OPTIONS].join(', ')}`);
      }
    }
    const f = opts.fetch ?? globalThis.fetch;
    const now = opts.now ?? Date.now;
    if (typeof f !== 'function') throw configError('no fetch function', 'pass options.fetch (Node >= 18 and browsers have a global fetch)');
    if (typeof now !== 'function') throw configError('now is not a function', 'pass a function returning Unix milliseconds, like Date.now');
    this.#fetch = f;
    this.#now = now;
    const o = new Options();
    try {
      for (const k of STRING_OPTIONS) if (opts[k] != null) o.set(k, String(opts[k]));
      for (const k of ['endpoints', 'session']) {
        const v = opts[k];
        if (v != null) o.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      }
      for (const k of NUMBER_OPTIONS) {
        const v = opts[k];
        if (v == null) continue;
        if (typeof v !== 'number') throw configError(`${k} is not a number`, `pass a whole number for ${k}`);
        o.set_number(k, v); // the core's range rules
      }
      if (opts.failoverPinned) o.set_number('failoverPinned', 1);
      if (opts[CONNECT_UNOBSERVED]) o.set_number('transportObservesConnect', 0);
      if (opts[PURPOSE_FETCH]) this.#purposeFetch = opts[PURPOSE_FETCH];
      this.#core = new Core(o, opts.seed ?? randomSeed(), now());
      this.#link = new Link(this.#core);
    } catch (e) {
      throw fromCore(e);
    } finally {
      o.free();
    }
    this.#hintLimit = this.#core.hint_limit;
    this.baseURL = this.#core.base_url;
    if (opts.onSession) this.on('session', opts.onSession);
    this.fetch = (input, init) => this.#call(input, init);
    this.#drain(now()); // a restored session may have announced itself
  }

  /** Subscribes to 'session', 'region' or 'sessionEnded'; returns the unsubscribe function. */
  on(event, fn) {
    const set = this.#listeners.get(event);
    if (!set) throw new TypeError(`unknown event ${JSON.stringify(event)}: use ${EVENTS.join(', ')}`);
    set.add(fn);
    return () => set.delete(fn);
  }

  /** The session to persist (it holds secrets: store it like a password), or null. */
  snapshot() {
    return this.#core?.snapshot() ?? null;
  }

  /** Hands over a session your backend minted (the auth service's answer, JSON or object). */
  handOver(grant) {
    const now = this.#now();
    try {
      this.#live().hand_over(now, typeof grant === 'string' ? grant : JSON.stringify(grant));
    } finally {
      this.#drain(now);
    }
  }

  logout() {
    const now = this.#now();
    this.#live().logout(now);
    this.#drain(now);
  }

  /** 'none', 'exchanging', 'active', 'refreshing', 'ended' or 'direct', at this moment:
   * a deadline the clock passed (a device that slept) is handled first. */
  get status() {
    this.#catchUp();
    return this.#live().status();
  }

  /** The region the last call went to, or null, at this moment (as `status`). */
  get region() {
    this.#catchUp();
    return this.#live().current_region() ?? null;
  }

  // Ticks the core at now if one of its deadlines is due: a timer cannot have fired
  // while the device slept or the clock jumped. Then sends and reports what that caused.
  #catchUp() {
    const core = this.#live();
    const now = this.#now();
    const at = this.#link.timeout();
    if (at >= 0 && at <= now) {
      core.tick(now);
      this.#drain(now);
    }
  }

  [TAB_LINK]() {
    const core = () => this.#live();
    // Rare inputs: the timer is armed afresh at the core's next deadline (one armed before
    // the page's clock jumped would fire late).
    const input = (f) => {
      const now = this.#now();
      const v = f(core(), now);
      clearTimeout(this.#timer);
      this.#timerAt = -1;
      this.#drain(now);
      return v;
    };
    return {
      spends: (id) => core().spends(id) ?? null,
      withhold: (id, why) => input((c, now) => c.withhold(now, id, why)),
      offer: (snapshot) => input((c, now) => c.offer(now, snapshot)),
      lockWaitMs: () => core().lock_wait_ms(),
    };
  }

  /** The region that answered a response from `pg.fetch`. */
  regionOf(response) {
    return (response?.[this.#regionKey] !== undefined ? response[this.#regionKey] : this.#regions.get(response)) ?? null;
  }

  /** Stops the timer, aborts in-flight requests and rejects open calls. */
  close() {
    const core = this.#core;
    if (!core) return;
    this.#core = null;
    clearTimeout(this.#timer);
    for (const c of this.#inflight.values()) abortRequest(c);
    for (const a of [...this.#agents.values()]) retireAgent(a);
    this.#held?.body?.cancel().catch(() => {});
    const err = abortError('the PolarGrid client was closed');
    for (const c of this.#calls.values()) {
      c.signal?.removeEventListener('abort', c.onAbort);
      c.reject(err);
    }
    this.#inflight.clear();
    this.#heldId = 0;
    this.#held = null;
    this.#calls.clear();
    core.free();
  }

  #live() {
    if (!this.#core) throw abortError('the PolarGrid client was closed');
    return this.#core;
  }

  #call(input, init = NO_INIT) {
    const core = this.#core;
    if (!core) return Promise.reject(abortError('the PolarGrid client was closed'));
    let url = input;
    let { method, headers, body, signal, deadline } = init;
    if (typeof input !== 'string') {
      if (typeof Request === 'function' && input instanceof Request) {
        url = input.url;
        method ??= input.method;
        headers ??= input.headers;
        body ??= input.body;
        signal ??= input.signal;
      } else url = String(input);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const m = method === undefined ? 0 : (METHODS.get(method) ?? METHODS.get(String(method).toUpperCase()));
    if (m === undefined) return Promise.reject(new TypeError(`pg.fetch: method ${method} is not supported`));
    // The body as it is sent (a string's UTF-8, an ArrayBuffer's or a view's bytes) crosses
    // into the core, which reads the model hint from it (polargrid_core::model_hint); other
    // bodies, and any longer than the core reads a hint from, are sent without one. A
    // string of more UTF-16 units than the limit has more UTF-8 bytes than it, too.
    let hint;
    const limit = this.#hintLimit;
    if (limit > 0 && body != null) {
      if (typeof body === 'string') hint = body;
      else if (body instanceof ArrayBuffer) hint = new Uint8Array(body);
      else if (ArrayBuffer.isView(body)) hint = body instanceof Uint8Array ? body : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      if (hint?.length > limit) hint = undefined;
    }
    if (deadline != null && typeof deadline !== 'number') return Promise.reject(new TypeError('pg.fetch: deadline is not a number of milliseconds'));
    const now = this.#now();
    const link = this.#link;
    const urlLen = link.put(0, url);
    const id = core.start(now, m, urlLen, hint === undefined ? -1 : link.put(urlLen, hint), deadline ?? undefined);
    const out = link.read(); // what the call caused: read before any other input
    if (id === 0) {
      this.#dispatch(out, now);
      return Promise.reject(new TypeError(`pg.fetch: ${core.last_error()}`));
    }
    return new Promise((resolve, reject) => {
      const c = { resolve, reject, init, extra: false, headers, body, signal, onAbort: null, ctrl: null };
      for (const k in init) if (k !== 'method' && k !== 'headers' && k !== 'body' && k !== 'signal' && k !== 'deadline') c.extra = true;
      this.#calls.set(id, c);
      if (signal) {
        c.onAbort = () => {
          if (this.#calls.has(id)) {
            c.reason = signal.reason;
            const t = this.#now();
            this.#core?.cancel(t, id);
            this.#drain(t);
          } else if (c.ctrl) abortRequest(c.ctrl, signal.reason); // already answered: stop its body
        };
        signal.addEventListener('abort', c.onAbort, { once: true });
      }
      this.#dispatch(out, now);
    });
  }

  // After an input given at `now`: sends the requests it caused and reports its events.
  #drain(now) {
    if (this.#core) this.#dispatch(this.#link.read(), now);
  }

  // `out`: a block the core left (Link#read), read before any other input was made (a
  // request's fetch or an event's listener may make one: it then drains its own block).
  #dispatch(out, now) {
    for (let i = 0; i < out.length; i++) {
      const r = out[i];
      if (!this.#core) return;
      if (r.request) {
        this.#send(r);
        continue;
      }
      const k = r.kind;
      if (k <= 2) {
        if (k === 2) this.#region = r.text;
        this.#ready(r.call, r.id);
      } else if (k === 3) {
        this.#end(r.call, new PolarGridError(r.text.split(SEP)));
      } else if (k === 4) {
        this.#end(r.call, this.#calls.get(r.call)?.reason ?? abortError('the call was cancelled'));
      } else if (k === 5) {
        // The core gave up on a request (its deadline, a cancelled call): abort the fetch
        // now, which closes its connection, rather than leave it to finish unread.
        const ctrl = this.#inflight.get(r.id);
        this.#inflight.delete(r.id);
        if (ctrl) abortRequest(ctrl);
      } else if (k === 6) {
        const f = r.text.split(SEP);
        this.#emit('session', {
          reason: f[0],
          sessionId: f[1] || null,
          expiresAt: num(f[2]),
          refreshExpiresAt: num(f[3]),
          refreshAt: num(f[4]),
          scope: f[5] ? f[5].split(' ') : null,
          snapshot: f[6] || null,
          share: f[7] === '1',
        });
      } else if (k === 7) {
        this.#emit('sessionEnded', { error: new PolarGridError(r.text.split(SEP)) });
      } else if (k === 8) {
        const [region, endpoint, reason] = r.text.split(SEP);
        this.#emit('region', { region, endpoint, reason });
      }
    }
    this.#arm(now);
  }

  #arm(now) {
    if (!this.#core) return;
    const at = this.#link.timeout();
    // Re-arm only for an earlier deadline (a timer that fires early ticks harmlessly and
    // re-arms; churn per call would cost microseconds), or for one already due because the
    // clock jumped (device sleep, a test's clock) past what the timer waits for.
    const delay = at - now;
    if (at >= 0 && (this.#timerAt < 0 || at < this.#timerAt || (delay <= 0 && !this.#timerNow))) {
      clearTimeout(this.#timer);
      this.#timerAt = at;
      this.#timerNow = delay <= 0;
      this.#timer = setTimeout(this.#onTimer, Math.min(Math.max(0, delay), 2 ** 31 - 1));
      this.#refd = true;
    }
    // Only open calls keep a Node process alive; a lone refresh timer does not.
    const keep = this.#link.openCalls() > 0;
    if (this.#timer?.unref && keep !== this.#refd) {
      this.#refd = keep;
      keep ? this.#timer.ref() : this.#timer.unref();
    }
  }

  #onTimer = () => {
    this.#timer = null;
    this.#timerAt = -1;
    this.#timerNow = false;
    if (!this.#core) return;
    const now = this.#now();
    this.#core.tick(now);
    this.#drain(now);
  };

  #emit(event, value) {
    for (const fn of this.#listeners.get(event)) {
      try {
        fn(value);
      } catch (e) {
        console.error('polargrid-core: a', event, 'listener threw', e);
      }
    }
  }

  #end(id, error) {
    const c = this.#calls.get(id);
    if (!c) return;
    this.#calls.delete(id);
    c.signal?.removeEventListener('abort', c.onAbort);
    c.reject(error);
  }

  #ready(id, request) {
    let res;
    if (request === this.#heldId) {
      res = this.#held;
      this.#heldId = 0;
      this.#held = null;
    }
    const c = this.#calls.get(id);
    this.#calls.delete(id);
    if (!res || !c) return;
    try {
      res[this.#regionKey] = this.#region;
    } catch {
      this.#regions.set(res, this.#region); // a frozen response
    }
    c.resolve(res);
  }

  // `r`: a request of the core's block (Link#read).
  async #send(r) {
    const { id, call: callId, purpose, connectMs, limit, method, url, rid } = r;
    const fixed = r.headers;
    const c = callId === 0 ? null : this.#calls.get(callId);
    if (c === undefined) return;
    // Every request has its own controller: when the core gives up on it (deadline,
    // cancel) or the client closes, its fetch is aborted and its connection released.
    // (Reused from #spare when one is there: making an AbortSignal costs Node 20 ~2.4 µs.)
    const ctrl = this.#spare.pop() ?? newController();
    this.#inflight.set(id, ctrl);
    const appSignal = c !== null && !!c.signal;
    if (appSignal) c.ctrl = ctrl; // a signal after the answer stops its body
    let init, headers;
    const app = c?.headers;
    if (app === undefined || app === null) {
      headers = { ...fixed }; // (the core's headers with an X-Request-ID slot, see Link#read)
      headers['x-request-id'] = rid;
    } else if (Object.getPrototypeOf(app) === Object.prototype) {
      // (Not a copy of `fixed` with the app's added: adding a key to such a copy cost
      // ~700 ns in Node 20.)
      headers = {};
      for (const k in app) headers[k.toLowerCase()] = app[k];
      Object.assign(headers, fixed);
      headers['x-request-id'] = rid;
    } else {
      headers = new Headers(app);
      for (const k in fixed) headers.set(k, fixed[k]);
      headers.set('x-request-id', rid);
    }
    if (!rid) {
      if (headers instanceof Headers) headers.delete('x-request-id');
      else delete headers['x-request-id'];
    }
    // Never follow a redirect: the core classifies a 3xx, and following one would carry
    // the key or a refresh token to whatever host the answer names.
    if (c === null || !c.extra) {
      init = { method, headers, body: c === null ? r.body : c.body, signal: ctrl.signal, redirect: 'manual' };
    } else {
      init = { ...c.init };
      delete init.deadline;
      init.method = method;
      init.headers = headers;
      init.body = c.body;
      init.signal = ctrl.signal;
      init.redirect = 'manual';
    }
    const agent = init.dispatcher || !IN_NODE ? undefined : connectAgent(this.#agents, connectMs);
    ctrl.agent = agent ?? undefined;
    if (agent) init.dispatcher = agent;
    if (c !== null && c.body && typeof c.body.getReader === 'function') init.duplex = 'half';
    let res, text, status;
    try {
      const f = this.#fetch;
      res = await (this.#purposeFetch ? this.#purposeFetch(purpose, url, init, id) : f(url, init));
      status = res.status; // (each of undici's getters checks its receiver: read once)
      // A page's fetch hides a redirect's status and headers (an "opaqueredirect" answer
      // with status 0): the core's contract for that is status 300, "a redirect".
      if (status === 0 && res.type === 'opaqueredirect') {
        res = new Response(null, { status: 300 });
        status = 300;
      }
      // At most the core's limit of the body it reads (the request record's): a core-owned
      // answer's, a failed call's. (The browser entry's fetch reads its coordinated answers
      // itself and watches for the driver's text() call on the copy it hands over.)
      if (callId === 0 && this.#purposeFetch) text = await res.text();
      else if (callId === 0 || status < 200 || status > 299) text = await bodyPrefix(res, limit);
    } catch (e) {
      if (this.#inflight.get(id) !== ctrl) return; // the core gave up on it, or closed
      this.#inflight.delete(id);
      abortRequest(ctrl); // release what the failure left open
      const now = this.#now();
      this.#core.transport_error(now, id, transportKind(e));
      this.#drain(now);
      return;
    }
    if (this.#inflight.get(id) !== ctrl) {
      if (text === undefined) res.body?.cancel().catch(() => {});
      retireAgent(agent);
      return;
    }
    this.#inflight.delete(id);
    // Nothing of this request can be cut by its signal any more when its body is read (the
    // core's own requests, a failure's prefix) or absent, and no app signal may stop it: its
    // controller serves a later request. Aborting it then (a deadline, close) aborts only
    // that one: a finished fetch ignores its signal. At most SPARE_USES requests each, so
    // the listeners a fetch leaves on its signal until it is collected stay few.
    if (!appSignal && (text !== undefined || res.body === null) && ++ctrl.uses < SPARE_USES && this.#spare.length < SPARE_MAX) this.#spare.push(ctrl);
    if (text === undefined) {
      this.#heldId = id;
      this.#held = res;
    }
    // The core reads an answer's head exactly when it reads its body
    // (HttpRequest::reads_answer_headers): not a call's 2xx, so none of it crosses then. (A
    // fetch Response cannot break the head's hygiene rule: the Fetch standard refuses CR, LF
    // and NUL in a header value, and undici's parser bounds the head, see connectAgent.)
    // The strings go into the core's input buffer one after the other (Core::response).
    let dateLen = -1;
    let retryLen = -1;
    let bodyLen = -1;
    if (text !== undefined) {
      const h = res.headers;
      const link = this.#link;
      const date = h.get('date');
      if (date !== null) dateLen = link.put(0, date);
      const retry = h.get('retry-after');
      if (retry !== null) retryLen = link.put(Math.max(dateLen, 0), retry);
      bodyLen = link.put(Math.max(dateLen, 0) + Math.max(retryLen, 0), text);
    }
    const now = this.#now();
    this.#core.response(now, id, status, dateLen, retryLen, bodyLen);
    this.#drain(now);
    if (this.#heldId === id) {
      // A success the core did not make any call's answer (the call had ended): drop it.
      this.#heldId = 0;
      this.#held = null;
      res.body?.cancel().catch(() => {});
      retireAgent(agent);
    }
  }
}
