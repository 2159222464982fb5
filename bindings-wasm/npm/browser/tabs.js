// One session for all tabs of an origin: IO coordination around the core's session
// requests. The core decides when to exchange or refresh; this module only decides
// whether THIS tab may send that request now, or should adopt what another tab got.
//
// - Web Locks (`navigator.locks`) serialise exchanges and refreshes across tabs. A lock
//   request always has a timeout and is aborted by close(); the lock is held only for the
//   request itself (which the core times out) and the storage write (bounded).
// - A ledger in IndexedDB records each refresh token (a SHA-256 fingerprint, never the
//   token) before it is sent, inside the lock. IndexedDB is the one shared store whose
//   reads are ordered after another tab's committed write, so a tab granted the lock
//   after a refresher released it always sees that its own refresh token was spent —
//   even when the refresher's BroadcastChannel message has not arrived yet, and even
//   when the refresher died mid-request.
// - A BroadcastChannel carries each new session to the other tabs, which adopt it (the
//   core's restore) instead of refreshing. Storage (if shared) is read inside the lock
//   and when a tab becomes visible again.
// - On lock timeout (a frozen tab holds it) a tab never spends a refresh token another
//   tab may be spending: the driver gets a fresh session instead (getSession() in
//   handoff mode, an exchange with the key). At worst one extra session; never a hang,
//   never a reused refresh token.

import { bounded, storageFrom } from './storage.js';

const DB_NAME = 'polargrid-tabs';
const DB_STORE = 'spent';
/** Ledger entries older than the refresh-token lifetime (30 days) are pruned. */
const LEDGER_KEEP_MS = 31 * 24 * 3600 * 1000;

const now = () => (globalThis.performance ? performance.now() : Date.now());

/** Non-secret facts of a snapshot JSON (the core's format), or null if unreadable. */
export function parseSnapshot(json) {
  if (typeof json !== 'string') return null;
  try {
    const s = JSON.parse(json);
    if (!s || typeof s.session_token !== 'string' || typeof s.expires_at_ms !== 'number') return null;
    return { json, token: s.session_token, exp: s.expires_at_ms };
  } catch {
    return null;
  }
}

/** Whether two snapshots hold the same session token (tab coordination publishes a new one). */
export function sameSession(a, b) {
  return parseSnapshot(a)?.token === parseSnapshot(b)?.token;
}

/** The refresh token a refresh request spends (for the spent-token ledger), from its body. */
export function refreshTokenOf(body) {
  try {
    const t = JSON.parse(body)?.refresh_token;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** A fingerprint of a refresh token for the ledger: SHA-256, 128 bits, hex. */
export async function fingerprint(token) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const bytes = new TextEncoder().encode(`polargrid-refresh-token:${token}`);
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (let i = 0; i < 16; i++) hex += digest[i].toString(16).padStart(2, '0');
  return hex;
}

function openLedger() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('ledger database blocked'));
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(DB_STORE, mode);
    let out;
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('ledger transaction aborted'));
    const r = fn(t.objectStore(DB_STORE));
    if (r) r.onsuccess = () => (out = r.result);
  });
}

const CLOSED = Symbol('closed');

/**
 * Coordinates one client's session requests with the other tabs of the origin.
 *
 * Options: `name` (lock/channel/storage key suffix; tabs with the same name share a
 * session), `storage` (see storage.js), `lockTimeoutMs`, `storageTimeoutMs`,
 * `adoptWaitMs` (how long to wait for the session of a tab that spent our refresh
 * token), `onRemoteSession(json)` (adopt a session another tab got: the core's restore).
 */
export class TabSession {
  constructor(opts = {}) {
    this.name = opts.name || 'default';
    this.lockName = `polargrid-session:${this.name}`;
    this.storage = storageFrom(opts.storage, `polargrid-session:${this.name}`);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 15000;
    this.storageTimeoutMs = opts.storageTimeoutMs ?? 2000;
    this.adoptWaitMs = opts.adoptWaitMs ?? 3000;
    this.onRemoteSession = opts.onRemoteSession || (() => {});
    this.locks = opts.locks === undefined ? globalThis.navigator && globalThis.navigator.locks : opts.locks;
    this.id = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    /** Per guarded request: where the time went (ms). Read by tests and `make bench`. */
    this.stats = [];
    this.closed = false;
    this.known = null; // {token, exp} of the session the core uses now
    this.latestRemote = null; // newest session heard from another tab
    this.waiters = new Set();
    this.aborts = new Set();
    this.closedPromise = new Promise((r) => (this.closeNow = r));
    this.ledger = null;
    this.ledgerOpening = null;
    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(this.lockName);
      this.channel.onmessage = (e) => this.onMessage(e.data);
    }
    this.ledgerDb();
    if (globalThis.document && document.addEventListener) {
      this.onVisible = () => {
        if (document.visibilityState === 'visible') this.checkStorage();
      };
      document.addEventListener('visibilitychange', this.onVisible);
    }
  }

  /** The driver tells which session the core uses now (after every session change). */
  noteSession(json) {
    this.known = parseSnapshot(json);
  }

  /** A session this tab got (exchange, refresh, hand-over): write it and tell the others. */
  async publish(json) {
    if (this.closed) return;
    this.noteSession(json);
    try {
      if (this.channel) this.channel.postMessage({ t: 'session', from: this.id, snapshot: json });
    } catch {
      // a closed channel: nothing to tell
    }
    await bounded(() => this.storage.set(json), this.storageTimeoutMs);
  }

  /** The core dropped its session: forget the persisted one if it is still ours. */
  async forget(lastJson) {
    const mine = parseSnapshot(lastJson);
    this.known = null;
    if (!mine) return;
    const r = await bounded(() => this.storage.get(), this.storageTimeoutMs);
    const stored = r.ok ? parseSnapshot(r.value) : null;
    if (stored && stored.token === mine.token) {
      await bounded(() => this.storage.remove(), this.storageTimeoutMs);
    }
  }

  /** The persisted session, if storage answers in time and holds one. */
  async stored() {
    const r = await bounded(() => this.storage.get(), this.storageTimeoutMs);
    return r.ok ? parseSnapshot(r.value) : null;
  }

  /** Whether `s` should replace the session this tab uses now. */
  isNewer(s) {
    if (!s) return false;
    if (!this.known) return true;
    return s.token !== this.known.token && s.exp > this.known.exp;
  }

  /** The freshest session this tab knows of (its own, heard, or `extra`) that expires
   * after `exp`, or null. */
  fresherThan(exp, extra) {
    let best = null;
    for (const s of [this.known, this.latestRemote, extra]) {
      if (s && s.exp > exp && (!best || s.exp > best.exp)) best = s;
    }
    return best;
  }

  /** Makes the core use `s` unless it already does. */
  async adoptIfNew(s, actions) {
    if (this.known && this.known.token === s.token) return false;
    this.known = s;
    await actions.adopt(s.json);
    return true;
  }

  onMessage(m) {
    if (this.closed || !m || m.t !== 'session' || m.from === this.id) return;
    const s = parseSnapshot(m.snapshot);
    if (!s) return;
    if (!this.latestRemote || s.exp > this.latestRemote.exp) this.latestRemote = s;
    for (const w of this.waiters) w(s);
    if (this.isNewer(s)) {
      this.known = s;
      this.onRemoteSession(s.json);
    }
  }

  async checkStorage() {
    const s = await this.stored();
    if (!this.closed && this.isNewer(s)) {
      this.known = s;
      this.onRemoteSession(s.json);
    }
  }

  /** The ledger database, opened once (early, so a refresh does not wait for it). */
  ledgerDb() {
    return (this.ledgerOpening ??= this.openLedgerOnce());
  }

  async openLedgerOnce() {
    if (!globalThis.indexedDB) return null;
    const r = await bounded(openLedger, this.storageTimeoutMs);
    if (!r.ok) {
      this.ledgerOpening = null; // try again at the next refresh
      return null;
    }
    if (this.closed) {
      r.value.close();
      return null;
    }
    this.ledger = r.value;
    const cutoff = Date.now() - LEDGER_KEEP_MS;
    // Prune in the background; a failure only leaves old fingerprints behind.
    tx(this.ledger, 'readwrite', (st) => {
      const c = st.openCursor();
      c.onsuccess = () => {
        const cur = c.result;
        if (!cur) return;
        if (!cur.value || cur.value.at < cutoff) cur.delete();
        cur.continue();
      };
    }).catch(() => {});
    return this.ledger;
  }

  async spentBy(fp) {
    const db = fp && (await this.ledgerDb());
    if (!db) return null;
    const r = await bounded(() => tx(db, 'readonly', (st) => st.get(fp)), this.storageTimeoutMs);
    return r.ok && r.value ? r.value.owner : null;
  }

  async markSpent(fp) {
    const db = fp && (await this.ledgerDb());
    if (!db) return false;
    const r = await bounded(
      () => tx(db, 'readwrite', (st) => st.put({ owner: this.id, at: Date.now() }, fp)),
      this.storageTimeoutMs,
    );
    return r.ok;
  }

  /** Waits up to `ms` for a session newer than `exp` from another tab (or storage). */
  waitNewer(exp, ms) {
    const known = this.fresherThan(exp);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      let done = false;
      const finish = (s) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(s);
      };
      const w = (s) => {
        if (s.exp > exp) finish(s);
      };
      const timer = setTimeout(() => finish(null), ms);
      this.waiters.add(w);
      this.closedPromise.then(() => finish(null));
      this.stored().then((s) => {
        if (s && s.exp > exp) finish(s);
      });
    });
  }

  whileOpen(p) {
    return Promise.race([p, this.closedPromise.then(() => CLOSED)]);
  }

  /**
   * Runs one session request the core asked for, coordinated with the other tabs.
   * `req`: `{ kind: 'refresh'|'exchange', refreshToken?, currentExp? }` (currentExp: the
   * expiry of the session the core holds, 0 if none). `actions`:
   * - `send()`: send the request and feed the answer to the core; resolves to
   *   `{ snapshot }`, the snapshot JSON the core produced (or null);
   * - `adopt(json)`: make the core use this session instead (restore; the core abandons
   *   its request);
   * - `fallback(why)`: get a session without spending the refresh token (getSession()
   *   and hand over, or an exchange with the key).
   * `req.signal` (optional) aborting while the lock is awaited gives up: `{ kind: 'aborted' }`.
   * Resolves to `{ kind: 'sent'|'adopted'|'fallback'|'closed'|'aborted', why? }`.
   */
  async guard(req, actions) {
    if (this.closed) return { kind: 'closed' };
    const stat = { kind: req.kind, t0: now() };
    this.stats.push(stat);
    const done = (r) => {
      stat.outcome = r.kind;
      if (r.why) stat.why = r.why;
      stat.totalMs = now() - stat.t0;
      return r;
    };
    if (!this.locks) {
      // No Web Locks (not a secure context, or an old browser): coordinate within this
      // tab only; the ledger and the channel still keep other tabs from reusing a token.
      return done(await this.locked(req, actions, stat));
    }
    const ac = new AbortController();
    this.aborts.add(ac);
    let granted = false;
    const timer = setTimeout(() => ac.abort(new DOMException('lock timeout', 'TimeoutError')), this.lockTimeoutMs);
    // The core gave up on the request (its own timeout) while it waited: stop waiting.
    const onAbort = () => ac.abort(new DOMException('request aborted', 'AbortError'));
    if (req.signal) req.signal.addEventListener('abort', onAbort, { once: true });
    let r;
    try {
      r = await this.locks.request(this.lockName, { signal: ac.signal }, async () => {
        granted = true;
        clearTimeout(timer);
        stat.lockWaitMs = now() - stat.t0;
        if (this.closed) return { kind: 'closed' };
        return this.locked(req, actions, stat);
      });
    } catch (e) {
      clearTimeout(timer);
      if (this.closed) return done({ kind: 'closed' });
      if (granted) throw e;
      if (req.signal && req.signal.aborted) return done({ kind: 'aborted' });
      stat.lockWaitMs = now() - stat.t0;
      // Timed out (a frozen or slow tab holds the lock) or refused: that tab may be
      // spending our refresh token right now, so never send it; get a fresh session.
      const why = ac.signal.aborted ? 'lock-timeout' : 'lock-refused';
      await this.whileOpen(actions.fallback(why));
      return done(this.closed ? { kind: 'closed' } : { kind: 'fallback', why });
    } finally {
      this.aborts.delete(ac);
      if (req.signal) req.signal.removeEventListener('abort', onAbort);
    }
    if (r.kind === 'spent') {
      // Another tab sent our refresh token (lock released before its message reached
      // us, or it died mid-request). Its session is on the way unless it died.
      const s = await this.whileOpen(this.waitNewer(req.currentExp, this.adoptWaitMs));
      if (s === CLOSED || this.closed) return done({ kind: 'closed' });
      if (s) {
        await this.adoptIfNew(s, actions);
        return done({ kind: 'adopted', why: 'spent-elsewhere' });
      }
      await this.whileOpen(actions.fallback('spent-elsewhere'));
      return done(this.closed ? { kind: 'closed' } : { kind: 'fallback', why: 'spent-elsewhere' });
    }
    return done(r);
  }

  async locked(req, actions, stat) {
    const t = now();
    const stored = await this.whileOpen(this.stored());
    if (stored === CLOSED) return { kind: 'closed' };
    // Another tab already renewed the session this request was for (heard over the
    // channel, or in shared storage): use that one, send nothing.
    const newer = this.fresherThan(req.currentExp || 0, stored);
    if (newer) {
      stat.checkMs = now() - t;
      await this.adoptIfNew(newer, actions);
      return { kind: 'adopted' };
    }
    if (req.kind === 'refresh' && req.refreshToken) {
      const fp = await fingerprint(req.refreshToken);
      const owner = await this.whileOpen(this.spentBy(fp));
      if (owner === CLOSED) return { kind: 'closed' };
      if (owner && owner !== this.id) {
        stat.checkMs = now() - t;
        return { kind: 'spent' };
      }
      stat.ledgerWritten = await this.whileOpen(this.markSpent(fp));
      if (stat.ledgerWritten === CLOSED) return { kind: 'closed' };
    }
    stat.checkMs = now() - t;
    const ts = now();
    const res = await this.whileOpen(actions.send());
    stat.sendMs = now() - ts;
    if (res === CLOSED) return { kind: 'closed' };
    const tp = now();
    if (res && res.snapshot) await this.whileOpen(this.publish(res.snapshot));
    stat.publishMs = now() - tp;
    return { kind: 'sent' };
  }

  /** Releases everything: pending lock requests, the channel, waiters, the ledger. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.closeNow();
    for (const ac of this.aborts) ac.abort(new DOMException('closed', 'AbortError'));
    this.aborts.clear();
    this.waiters.clear();
    if (this.channel) this.channel.close();
    if (this.onVisible) document.removeEventListener('visibilitychange', this.onVisible);
    if (this.ledger) this.ledger.close();
  }
}
