// polargrid-core in browsers (the package's "browser" entry): handoff by default, one
// session for all tabs of an origin, and a raw pg_ key refused unless allowed.
//
//   const pg = await PolarGrid.connect({
//     getSession: async () => (await fetch('/api/polargrid-session', { method: 'POST' })).json(),
//   });
//
// No policy here: the core decides when to exchange or refresh; this layer only makes
// the tabs take turns (tabs.js) and moves sessions between the core, storage and tabs.
import { PolarGrid as Base, PolarGridError, PURPOSE_FETCH, isSessionSnapshot, load } from '../index.js';
import { TabSession, refreshTokenOf, sameSession } from './tabs.js';

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


const SKIPPED_REFRESH = JSON.stringify({
  message: 'refresh not sent: another tab may be spending this refresh token',
  code: 'refresh_not_sent',
});

/**
 * `PolarGrid.connect` for browsers. On top of the driver's options:
 * - `getSession: async () => grant`: your backend's session route; called at start (when
 *   neither storage nor `session` has one) and whenever the core ends the session;
 * - `session`: a grant from your backend or a snapshot from `pg.snapshot()`;
 * - `storage`: 'memory' (default), 'localStorage', 'sessionStorage' or { get, set, remove };
 * - `tabs`: false to opt out of sharing with other tabs; `lockTimeoutMs`, `storageTimeoutMs`;
 *   `storageKey`: tabs with the same key share a session (default 'default');
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
  // The wasm downloads and compiles while storage and getSession() answer.
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
    onRemoteSession: (json) => adopt(json),
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
  let adopting = false; // a session from another tab: do not publish it back
  let waiter = null; // a guarded request waiting for the session its answer produced
  let last = null; // the snapshot the core uses now
  let ending = null;

  function adopt(json) {
    if (!pg || closed) return;
    adopting = true;
    try {
      pg.handOver(json);
    } catch {
      // not a usable session: keep ours
    } finally {
      adopting = false;
    }
  }

  async function freshSession() {
    const grant = await getSession();
    if (closed || !pg) return;
    pg.handOver(grant);
  }

  function sessionEvent(ev) {
    const snap = ev.snapshot;
    if (snap) {
      const prev = last;
      last = snap;
      tabs.noteSession(snap);
      if (waiter) waiter(snap);
      else if (!adopting && !sameSession(snap, prev)) tabs.publish(snap);
    } else {
      const prev = last;
      last = null;
      tabs.forget(prev);
    }
    if (onSession) onSession(ev);
  }

  // The fetch the driver sends with, told each request's purpose by the core: exchanges
  // and refreshes take turns with other tabs, everything else goes straight out.
  function coordinatedFetch(purpose, input, init = {}) {
    const kind = purpose === 'exchange' || purpose === 'refresh' ? purpose : null;
    if (!kind || closed) return realFetch(input, init);
    const refreshToken = kind === 'refresh' ? refreshTokenOf(init.body) : undefined;
    return new Promise((resolve, reject) => {
      let settled = false;
      const answer = (f) => (v) => {
        if (!settled) (settled = true), f(v);
      };
      const ok = answer(resolve);
      const fail = answer(reject);
      tabs
        .guard(
          { kind, refreshToken, currentExp: (tabs.known && tabs.known.exp) || 0, signal: init.signal },
          {
            send: async () => {
              let res;
              try {
                res = await realFetch(input, init);
              } catch (e) {
                fail(e);
                return { snapshot: null };
              }
              if (!res.ok) {
                ok(res);
                return { snapshot: null };
              }
              // Hold the lock until the core has read the answer and produced the session
              // to publish — or found it unusable: the driver feeds the answer to the core
              // synchronously once its text() resolves, so one task later it is done.
              let text;
              try {
                text = await res.text(); // a small JSON answer
              } catch (e) {
                fail(e);
                return { snapshot: null };
              }
              const copy = new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
              let read;
              const consumed = new Promise((r) => (read = r));
              copy.text = () => {
                read();
                return Promise.resolve(text);
              };
              const got = new Promise((r) => {
                waiter = r;
                consumed.then(() => setTimeout(() => r(null), 0));
                setTimeout(() => r(null), 2000);
              });
              ok(copy);
              const snapshot = await got;
              waiter = null;
              return { snapshot };
            },
            adopt: async (json) => {
              adopt(json); // the core abandons its request
              fail(abortError('another tab renewed the session'));
            },
            fallback: async () => {
              if (kind === 'exchange') {
                // Nothing to reuse: a second exchange costs one extra session at worst.
                realFetch(input, init).then(ok, fail);
              } else if (getSession) {
                try {
                  await freshSession(); // the core abandons its refresh
                } catch (e) {
                  console.warn('polargrid-core: getSession failed:', e && e.message);
                }
                fail(abortError('refresh replaced by a fresh session'));
              } else {
                // Without getSession the core decides: exchange with the key if held,
                // else end the session (the app hands over a new one).
                ok(new Response(SKIPPED_REFRESH, { status: 401, headers: { 'content-type': 'application/json' } }));
              }
            },
          },
        )
        .then(
          (r) => {
            if (r.kind === 'closed' || r.kind === 'aborted') fail(abortError('the PolarGrid client was closed'));
          },
          (e) => fail(e),
        );
    });
  }

  const stored = await tabs.stored();
  let initial = stored ? stored.json : session;
  let grant = null;
  // A grant (your backend's answer) is handed over; a snapshot restored: the core tells.
  if (initial != null && !(await isSessionSnapshot(initial, rest.wasm))) {
    grant = initial;
    initial = undefined;
  }
  try {
    if (initial == null && grant == null && getSession) grant = await getSession();
    await wasmReady;
    pg = await Base.connect({
      ...rest,
      ...(initial != null ? { session: initial } : {}),
      fetch: realFetch,
      [PURPOSE_FETCH]: coordinatedFetch,
      onSession: sessionEvent,
    });
  } catch (e) {
    tabs.close();
    throw e;
  }
  if (grant != null) pg.handOver(grant);
  if (getSession) {
    pg.on('sessionEnded', () => {
      if (closed || ending) return;
      ending = tabs
        .guard(
          { kind: 'exchange', currentExp: (tabs.known && tabs.known.exp) || 0 },
          {
            send: async () => {
              await freshSession();
              return { snapshot: null }; // published by the session event
            },
            adopt: async (json) => adopt(json),
            fallback: () => freshSession(),
          },
        )
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
