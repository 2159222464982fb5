// polargrid-core in browsers (the package's "browser" entry): handoff by default, one
// session for all tabs of an origin, and a raw pg_ key refused unless allowed.
//
//   const pg = await PolarGrid.connect({
//     getSession: async () => (await fetch('/api/polargrid-session', { method: 'POST' })).json(),
//   });
//
// No policy here: the core decides when to exchange or refresh; this layer only makes
// the tabs take turns (tabs.js) and moves sessions between the core, storage and tabs.
import { PolarGrid as Base, PolarGridError, CONNECT_UNOBSERVED, PURPOSE_FETCH, TAB_LINK, isSessionSnapshot, load, tabWaitMs } from '../index.js';
import { TabSession } from './tabs.js';

export { PolarGridError, TabSession, load };

const BROWSER_OPTIONS = ['getSession', 'storage', 'allowKeyInBrowser', 'tabs', 'lockTimeoutMs', 'storageTimeoutMs', 'storageKey'];

/** A window or a worker, not Node, Deno or Bun (which may define `window`-like globals). */
export function inBrowser() {
  const g = globalThis;
  if (g.process && g.process.versions && g.process.versions.node) return false;
  if (g.Deno || g.Bun) return false;
  const worker = typeof g.WorkerGlobalScope === 'function' && g instanceof g.WorkerGlobalScope;
  return (typeof g.window === 'object' && typeof g.document === 'object') || worker;
}

function error(kind, cause, fix) {
  // Fields as the driver builds them: kind, status, retryable, retryAfterMs, requestId,
  // cause, fix, serverMessage, attempts, message.
  return new PolarGridError([kind, '', '0', '', '', cause, fix, '', '0', `${cause}. Fix: ${fix}`]);
}

function abortError(message) {
  return new DOMException(message, 'AbortError');
}

/**
 * `PolarGrid.connect` for browsers. On top of the driver's options:
 * - `getSession: async () => grant`: your backend's session route; called at start (when
 *   neither storage, `session` nor another tab has one) and whenever the core ends the session;
 * - `session`: a grant from your backend or a snapshot from `pg.snapshot()`;
 * - `storage`: 'memory' (default), 'localStorage', 'sessionStorage' or { get, set, remove };
 * - `tabs`: false to opt out of sharing with other tabs; `lockTimeoutMs`, `storageTimeoutMs`
 *   (the core's bounds by default); `storageKey`: tabs with the same key share a session
 *   (default 'default');
 * - `allowKeyInBrowser: true` to accept a raw pg_ key in a page (it can then be read by
 *   anyone who opens the page; use it for local tools only).
 */
export async function connectInBrowser(options = {}) {
  const {
    getSession,
    storage,
    allowKeyInBrowser = false,
    tabs: share = true,
    lockTimeoutMs,
    storageTimeoutMs,
    storageKey,
    session,
    onSession,
    wasm,
    ...rest
  } = options;
  // The wasm downloads and compiles while storage, the other tabs and getSession() answer.
  const wasmReady = load(wasm);
  const browser = inBrowser();
  if (rest.apiKey != null && browser && !allowKeyInBrowser) {
    throw error(
      'key_in_browser',
      'a pg_ API key was given to PolarGrid.connect in a browser, where anyone who opens the page can read it',
      "keep the key on your backend: add a route that calls POST {auth}/v1/auth/session with it and returns the answer, then connect with { getSession: () => fetch('/your-route', { method: 'POST' }).then((r) => r.json()) }; for a local tool only, pass allowKeyInBrowser: true",
    );
  }
  if (getSession !== undefined && typeof getSession !== 'function') {
    throw error('invalid_config', 'getSession is not a function', 'pass an async function that returns the session your backend minted');
  }
  if (rest.apiKey == null && rest.mode === undefined) rest.mode = 'handoff';

  const realFetch = rest.fetch ?? globalThis.fetch.bind(globalThis);
  const tabs = new TabSession({
    name: storageKey,
    storage,
    lockTimeoutMs,
    storageTimeoutMs,
    locks: share ? undefined : null,
    wait: (name) => tabWaitMs(name, wasm),
  });
  if (share && !tabs.locks && browser) {
    // Web Locks (and crypto.subtle, for the ledger) exist only in secure contexts (https,
    // localhost): tabs sharing a stored session here could send one refresh token twice.
    console.warn('polargrid-core: no Web Locks here (not a secure context?): tabs cannot take turns refreshing; use https or storage: \'memory\'');
  }
  if (!share && tabs.channel) {
    tabs.channel.close();
    tabs.channel = null;
  }

  let pg = null;
  let closed = false;
  let publishing = Promise.resolve();
  let ending = null;

  // The core says which sessions the other tabs get (`share`); the text crosses unread.
  function sessionEvent(ev) {
    if (ev.snapshot && ev.share) publishing = tabs.publish(ev.snapshot);
    else if (!ev.snapshot) tabs.forget();
    if (onSession) onSession(ev);
  }

  // The fetch the driver sends with, told each request's purpose and id by the core:
  // exchanges and refreshes take turns with other tabs, everything else goes straight out.
  function coordinatedFetch(purpose, input, init, id) {
    if ((purpose !== 'exchange' && purpose !== 'refresh') || closed) return realFetch(input, init);
    return new Promise((resolve, reject) => {
      let settled = false;
      const once = (f) => (v) => settled || ((settled = true), f(v));
      const ok = once(resolve);
      const fail = once(reject);
      const send = async () => {
        let res, text;
        try {
          res = await realFetch(input, init);
          if (!res.ok) return ok(res);
          text = await res.text(); // a small JSON answer
        } catch (e) {
          return fail(e);
        }
        // Hold the lock until the core has read the answer (the driver feeds it to the core
        // as soon as text() resolves) and the session it made is published.
        const read = new Promise((r) => {
          const copy = new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
          copy.text = () => (r(), Promise.resolve(text));
          ok(copy);
        });
        const dropped = new Promise((r) => init.signal?.addEventListener('abort', r, { once: true }));
        await Promise.race([read.then(() => new Promise((r) => setTimeout(r, 0))), dropped]);
        await publishing;
      };
      tabs.guard(id, purpose, init.signal, send).then(() => fail(abortError('the PolarGrid client was closed')), fail);
    });
  }

  // A stored session, a given one, or (memory storage) the other tabs': the core decides.
  const stored = await tabs.stored();
  if (stored) tabs.offer(stored);
  else if (session == null && share) await tabs.ask();
  let initial = session;
  let grant = null;
  // A grant (your backend's answer) is handed over; a snapshot restored: the core tells.
  if (initial != null && !(await isSessionSnapshot(initial, wasm))) {
    grant = initial;
    initial = undefined;
  }
  try {
    if (initial == null && grant == null && tabs.heard.length === 0 && getSession) grant = await getSession();
    await wasmReady;
    pg = await Base.connect({
      ...rest,
      ...(initial != null ? { session: initial } : {}),
      fetch: realFetch,
      [PURPOSE_FETCH]: coordinatedFetch,
      [CONNECT_UNOBSERVED]: browser,
      onSession: sessionEvent,
    });
    tabs.link({ ...pg[TAB_LINK](), snapshot: () => pg.snapshot() });
    if (grant == null && pg.snapshot() == null && getSession) grant = await getSession();
  } catch (e) {
    tabs.close();
    pg?.close();
    throw e;
  }
  if (grant != null) pg.handOver(grant);
  if (getSession) {
    // Ended: one tab at a time asks the backend, unless another tab's session arrived.
    const renew = () =>
      tabs.exclusive(async () => {
        await tabs.checkStorage();
        if (!closed && pg.snapshot() == null) {
          const g = await getSession();
          if (!closed) pg.handOver(g);
        }
      });
    pg.on('sessionEnded', () => {
      if (closed || ending) return;
      ending = renew()
        .catch((e) => console.warn('polargrid-core: getSession failed:', e && e.message))
        .finally(() => (ending = null));
    });
  }
  const close = pg.close.bind(pg);
  pg.close = () => {
    closed = true;
    tabs.close();
    close();
  };
  pg.tabs = tabs;
  return pg;
}

/** The driver's client with a browser `connect`. */
export class PolarGrid extends Base {
  static connect(options) {
    return connectInBrowser(options);
  }
}
