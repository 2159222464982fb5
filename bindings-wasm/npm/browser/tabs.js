// One session for all tabs of an origin: only the IO. Every decision is the core's
// (core/src/client/tabs.rs): whether a session another tab offers replaces this tab's,
// what a refresh that was not sent turns into, which changes other tabs are told of,
// and every bound waited for. Snapshots and request bodies cross this module unread.
//
// - Web Locks (`navigator.locks`) serialise exchanges and refreshes across tabs. A lock
//   request always has a timeout (the core's) and is aborted by close(); the lock is held
//   only for the request itself (which the core times out) and the storage write.
// - A ledger in IndexedDB records what each refresh spends (a SHA-256 fingerprint of what
//   the core names, never the token) before it is sent, inside the lock. IndexedDB is the
//   one shared store whose reads are ordered after another tab's committed write, so a tab
//   granted the lock after a refresher released it always sees that its own refresh token
//   was spent — even when the refresher's message has not arrived yet, or it died.
// - A BroadcastChannel carries each new session to the other tabs, and a new tab's
//   question for theirs; storage (if shared) is read inside the lock and when a tab
//   becomes visible again. Whatever is heard or read is offered to the core.

import { bounded, storageFrom } from './storage.js';

const DB_NAME = 'polargrid-tabs';
const DB_STORE = 'spent';

const now = () => (globalThis.performance ? performance.now() : Date.now());
const abortError = (m) => new DOMException(m, 'AbortError');

/** A fingerprint for the ledger: SHA-256 of what the core says a refresh spends, 128 bits, hex. */
export async function fingerprint(spends) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const bytes = new TextEncoder().encode(`polargrid-refresh-token:${spends}`);
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

/**
 * The IO of one client's session shared with the other tabs of the origin.
 *
 * Options: `name` (tabs with the same name share a session), `storage` (see storage.js),
 * `wait(name)` (a promise of the core's bound in ms: `storage`, `ask`, `ledgerKeep`; the
 * lock's comes with `link`), `lockTimeoutMs` / `storageTimeoutMs` (the app's overrides),
 * `locks` (null: no Web Locks).
 */
export class TabSession {
  constructor(opts = {}) {
    this.name = opts.name || 'default';
    this.lockName = `polargrid-session:${this.name}`;
    this.storage = storageFrom(opts.storage, `polargrid-session:${this.name}`);
    this.wait = opts.wait;
    this.lockTimeoutMs = opts.lockTimeoutMs;
    this.storageTimeoutMs = opts.storageTimeoutMs ?? this.wait('storage');
    this.locks = opts.locks === undefined ? globalThis.navigator && globalThis.navigator.locks : opts.locks;
    this.id = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    /** Per guarded request: where the time went (ms). Read by tests and `make bench-tabs`. */
    this.stats = [];
    this.closed = false;
    // The last lock wait ran out: until the lock is granted again it is only taken when
    // free (a frozen holder costs one wait, not one per request).
    this.stuck = false;
    this.core = null; // { offer(json), snapshot(), spends(id), withhold(id, why), lockWaitMs() }
    this.heard = []; // sessions heard before the core was linked
    this.current = null; // the text of the session this tab published or adopted last
    this.aborts = new Set();
    this.closedPromise = new Promise((r) => (this.closeNow = r));
    this.linked = new Promise((r) => (this.onLink = r));
    this.ledgerOpening = null;
    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(this.lockName);
      this.channel.onmessage = (e) => this.onMessage(e.data);
    }
    // Present while open (a shared lock): a new tab asks the others only when there are
    // some, as seen before it joins them.
    const open = `${this.lockName}:open`;
    this.peers = !this.locks
      ? Promise.resolve(false)
      : this.locks.query().then((q) => {
          if (!this.closed) this.locks.request(open, { mode: 'shared' }, () => (this.closed ? null : new Promise((r) => (this.leave = r)))).catch(() => {});
          return q.held.some((l) => l.name === open);
        }, () => false);
    this.ledgerDb();
    if (globalThis.document && document.addEventListener) {
      this.onVisible = () => document.visibilityState === 'visible' && this.checkStorage();
      document.addEventListener('visibilitychange', this.onVisible);
    }
  }

  /** Connects the core (see `core` above) and offers it what was heard meanwhile. */
  link(core) {
    this.core = core;
    this.lockTimeoutMs ??= core.lockWaitMs();
    this.onLink();
    for (const s of this.heard.splice(0)) this.offer(s);
  }

  /** Offers a session heard or read to the core, which decides whether to adopt it. */
  offer(json) {
    if (this.closed || typeof json !== 'string') return;
    if (!this.core) this.heard.push(json);
    else if (this.core.offer(json)) this.current = json;
  }

  /** A session the core says to share: tell the other tabs and write it. */
  async publish(json) {
    if (this.closed) return;
    this.current = json;
    try {
      if (this.channel) this.channel.postMessage({ t: 'session', from: this.id, snapshot: json });
    } catch {
      // a closed channel: nothing to tell
    }
    await bounded(() => this.storage.set(json), this.storageTimeoutMs);
  }

  /** The core dropped its session: remove the stored one if it is the one this tab
   * published or adopted last (compared as text; a newer one of another tab stays). */
  async forget() {
    const last = this.current;
    this.current = null;
    if (last && (await this.stored()) === last) await bounded(() => this.storage.remove(), this.storageTimeoutMs);
  }

  /** The stored session (text), if storage answers in time and holds one. */
  async stored() {
    const r = await bounded(() => this.storage.get(), this.storageTimeoutMs);
    return r.ok && typeof r.value === 'string' ? r.value : null;
  }

  onMessage(m) {
    if (this.closed || !m || m.from === this.id) return;
    if (m.t === 'session') this.offer(m.snapshot);
    else if (m.t === 'ask' && this.core) {
      const s = this.core.snapshot();
      if (s) this.channel.postMessage({ t: 'session', from: this.id, snapshot: s });
    }
  }

  async checkStorage() {
    const s = await this.stored();
    if (s) this.offer(s);
  }

  /** A tab opening with nothing stored: asks the others for their session and waits the
   * core's bound for the first answer (none without other tabs). Resolves to the answers. */
  async ask() {
    if (!this.channel || !(await this.peers) || this.closed) return [];
    const ms = await this.wait('ask');
    const before = this.heard.length;
    return new Promise((resolve) => {
      const prev = this.channel.onmessage;
      const done = () => {
        clearTimeout(timer);
        this.channel.onmessage = prev;
        resolve(this.heard.slice(before));
      };
      const timer = setTimeout(done, ms);
      this.channel.onmessage = (e) => {
        prev(e);
        if (this.heard.length > before) done();
      };
      this.channel.postMessage({ t: 'ask', from: this.id });
    });
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
    if (this.closed) return void r.value.close();
    this.ledger = r.value;
    const cutoff = Date.now() - (await this.wait('ledgerKeep'));
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
    const r = await bounded(() => tx(db, 'readwrite', (st) => st.put({ owner: this.id, at: Date.now() }, fp)), this.storageTimeoutMs);
    return r.ok;
  }

  /**
   * Sends the exchange or refresh `id` the core asked for (`send()`, resolving once the
   * core has read the answer and it is published), taking turns with the other tabs. Rejects with an
   * AbortError when it is not sent: the core adopted another tab's session, or decided
   * what instead after `withhold`. `signal`: the core gave up on the request.
   */
  async guard(id, kind, signal, send) {
    if (this.closed) throw abortError('the PolarGrid client was closed');
    await Promise.race([this.linked, this.closedPromise]);
    if (this.closed) throw abortError('the PolarGrid client was closed');
    const stat = { kind, t0: now() };
    this.stats.push(stat);
    const end = (outcome, why) => {
      stat.outcome ??= outcome;
      if (why) stat.why ??= why;
      stat.totalMs = now() - stat.t0;
    };
    if (!this.locks) {
      // No Web Locks (not a secure context, or an old browser): the ledger and the
      // channel still keep other tabs from reusing a token.
      try {
        return await this.locked(id, signal, send, stat);
      } finally {
        end('closed');
      }
    }
    const state = { granted: false };
    try {
      return await this.withLock(state, signal, () => {
        stat.lockWaitMs = now() - stat.t0;
        return this.locked(id, signal, send, stat);
      });
    } catch (e) {
      if (state.granted || this.closed || signal?.aborted) {
        // Another tab's session was adopted while waiting: the core dropped this request.
        end(this.closed ? 'closed' : signal?.aborted ? 'adopted' : 'failed');
        throw e;
      }
      stat.lockWaitMs = now() - stat.t0;
      this.stuck = true;
      // Not granted in time: the holder may be spending this very token. The core decides.
      if (this.core.withhold(id, 'lock_timeout')) {
        end('sent', 'lock-timeout');
        return send();
      }
      end('withheld', 'lock-timeout');
      throw abortError('refresh withheld: another tab holds the lock');
    } finally {
      end('closed');
    }
  }

  /**
   * Asks for the tabs' lock for at most the core's lock wait (see `lockOptions`) and runs
   * `held` holding it; `signal` abandons the wait. Resolves to what `held` returns; rejects
   * with what `held` threw (`state.granted` is then true) or with why the lock was not
   * granted: the wait ran out, the lock was busy, the wait was abandoned or the client closed.
   */
  async withLock(state, signal, held) {
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new DOMException('lock timeout', 'TimeoutError')), this.lockTimeoutMs);
    const onAbort = () => ac.abort(abortError('request abandoned'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.locks.request(this.lockName, this.lockOptions(ac), (lock) => {
        if (!lock) throw new DOMException('lock busy', 'TimeoutError');
        state.granted = true;
        this.stuck = false;
        clearTimeout(timer);
        return held();
      });
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Waits on `ac`, or asks only if the lock is free while the last wait ran out (a frozen
   * holder then costs one wait, not one per request) until it is granted again. */
  lockOptions(ac) {
    return this.stuck ? { ifAvailable: true } : { signal: ac.signal };
  }

  /** Runs `fn` holding the lock (or without it after the lock wait: `fn` spends nothing). */
  async exclusive(fn) {
    if (!this.locks || this.closed) return fn();
    const state = { granted: false };
    try {
      return await this.withLock(state, undefined, fn);
    } catch (e) {
      if (state.granted || this.closed) throw e;
      this.stuck = true;
      return fn();
    }
  }

  async locked(id, signal, send, stat) {
    const t = now();
    const check = () => {
      if (this.closed) throw abortError('the PolarGrid client was closed');
      if (signal?.aborted) throw abortError('another tab renewed the session');
    };
    // Another tab may have renewed the session already (in shared storage): the core
    // adopts it, and drops this request, if it is newer.
    const stored = await this.stored();
    check();
    if (stored) this.offer(stored);
    check();
    const spends = this.core.spends(id);
    if (spends) {
      const fp = await fingerprint(spends);
      const owner = await this.spentBy(fp);
      check();
      if (owner && owner !== this.id) {
        stat.checkMs = now() - t;
        stat.outcome = 'withheld';
        stat.why = 'spent-elsewhere';
        this.core.withhold(id, 'spent');
        throw abortError('refresh withheld: another tab spent its token');
      }
      stat.ledgerWritten = await this.markSpent(fp);
      check();
    }
    stat.checkMs = now() - t;
    const ts = now();
    await Promise.race([send(), this.closedPromise]);
    stat.sendMs = now() - ts;
    check();
    stat.outcome = 'sent';
  }

  /** Releases everything: pending lock requests, the channel, the ledger. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.closeNow();
    for (const ac of this.aborts) ac.abort(abortError('closed'));
    this.aborts.clear();
    this.leave?.();
    if (this.channel) this.channel.close();
    if (this.onVisible) document.removeEventListener('visibilitychange', this.onVisible);
    this.ledger?.close();
  }
}
