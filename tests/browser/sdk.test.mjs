// The npm package's browser entry (bindings-wasm/npm/browser/index.js: the wasm core, the
// driver, the tab layer) in real Chromium against the real emulator: handoff by default,
// tabs across the JWT's expiry, a frozen or vanished lock holder, the raw-key guard, the
// example page streaming a chat completion, and no secret in console or DOM.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exchanges, launch, refreshes, startEmulator, startPages } from './lib.mjs';

const DAY_MS = 86_400_000; // the emulator's JWT lifetime
let emu, web, browser;
const secrets = new Set();
const pages = new Set();

before(async () => {
  emu = await startEmulator();
  web = await startPages(emu);
  browser = await launch();
  for (const k of Object.values(emu.info.keys)) secrets.add(k);
});
afterEach(async () => {
  // A failed test's pages would go on refreshing and spoil the next test's log.
  for (const p of [...pages]) await done(p).catch(() => {});
});
after(async () => {
  await browser?.close();
  await web?.close();
  emu?.stop();
});

async function page() {
  const p = await browser.page(`${web.url}/pages/sdk.html`);
  pages.add(p);
  return p;
}
async function collect(p) {
  // Every session a page held: its tokens are secrets the console and DOM must not show.
  const snap = await p.evaluate(() => sdk.snapshot()).catch(() => null);
  if (snap) {
    const s = JSON.parse(snap);
    secrets.add(s.session_token);
    if (s.refresh_token) secrets.add(s.refresh_token);
  }
}
async function done(...ps) {
  for (const p of ps) {
    await collect(p);
    await p.close();
    pages.delete(p);
  }
}
async function fresh(ttl = 86400) {
  await emu.admin('/admin/config', { jwt_ttl_s: ttl });
  await emu.admin('/admin/clock', { offset_ms: 0 });
  await emu.admin('/admin/log/clear', {});
}
/** Moves the emulator's clock and every page's clock `ms` ahead (a long sleep, no waiting). */
async function jump(ms, ps) {
  await emu.admin('/admin/clock', { advance_ms: ms });
  for (const p of ps) await p.evaluate((m) => sdk.shift(m), ms);
}
const failedRefreshes = async () => (await refreshes(emu)).filter((e) => e.status !== 200);

test('raw_key_in_a_page_rejects_connect_and_says_what_to_do', async () => {
  await fresh();
  const p = await page();
  const key = emu.info.keys.read_write;
  const r = await p.evaluate((apiKey) => sdk.connectResult({ apiKey, withGetSession: false }), key);
  assert.equal(r.ok, false);
  assert.equal(r.error.name, 'PolarGridError');
  assert.equal(r.error.kind, 'key_in_browser');
  assert.match(r.error.message, /anyone who opens the page can read it/);
  assert.match(r.error.fix, /getSession/);
  assert.match(r.error.fix, /allowKeyInBrowser/);
  for (const text of [r.error.message, r.json, r.stack]) assert.ok(!text.includes(key), 'the key is not in the error');
  assert.equal((await exchanges(emu)).length, 0, 'nothing was sent');
  const allowed = await p.evaluate((apiKey) => sdk.connectResult({ apiKey, withGetSession: false, allowKeyInBrowser: true }), key);
  assert.deepEqual(allowed, { ok: true, status: 200 });
  await done(p);
});

test('raw_key_in_a_worker_rejects_connect_unless_allowed', async () => {
  await fresh();
  const p = await page();
  const key = emu.info.keys.read_write;
  const r = await p.evaluate((k) => sdk.workerConnect(k), key);
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.equal(r.name, 'PolarGridError');
  assert.equal(r.kind, 'key_in_browser');
  assert.ok(!r.message.includes(key));
  assert.equal((await exchanges(emu)).length, 0);
  assert.deepEqual(await p.evaluate((k) => sdk.workerConnect(k, true), key), { ok: true, status: 200 });
  await done(p);
});

test('handoff_is_the_default_get_session_feeds_the_core', async () => {
  await fresh();
  const p = await page();
  assert.equal(await p.evaluate(() => sdk.connect()), 'active');
  assert.equal(await p.evaluate(() => sdk.call()), 200);
  const log = await emu.log();
  assert.equal(log.filter((e) => e.credential === 'key').length, 1, 'only the backend used the key');
  assert.ok(log.filter((e) => e.role === 'edge').every((e) => e.credential === 'jwt'));
  await done(p);
});

async function tabsAcrossExpiry(n) {
  await fresh();
  const ps = [];
  for (let i = 0; i < n; i++) ps.push(await page());
  const name = `exp${n}`;
  // The first tab gets the session from its backend; the others find it in storage.
  for (const p of ps) await p.evaluate((storageKey) => sdk.connect({ storage: 'localStorage', storageKey }), name);
  assert.equal((await exchanges(emu)).length, 1, 'one session for all tabs');
  for (const p of ps) assert.equal(await p.evaluate(() => sdk.call()), 200);
  // Every tab wakes 10 s past the JWT's expiry and calls at the same moment: each core
  // wants the refresh at once.
  await jump(DAY_MS + 10_000, ps);
  const statuses = await Promise.all(ps.map((p) => p.evaluate(() => sdk.calls(3))));
  for (const s of statuses) assert.deepEqual(s, [200, 200, 200]);
  assert.equal((await refreshes(emu)).length, 1, 'exactly one refresh for all tabs');
  assert.deepEqual(await failedRefreshes(), []);
  assert.equal((await exchanges(emu)).length, 1, 'no extra session');
  const tokens = new Set(await Promise.all(ps.map((p) => p.evaluate(() => JSON.parse(sdk.snapshot()).session_token))));
  assert.equal(tokens.size, 1, 'every tab on the refreshed session');
  const stats = (await Promise.all(ps.map((p) => p.evaluate(() => sdk.stats())))).flat();
  const sent = stats.find((s) => s.outcome === 'sent');
  const ms = (k) => (sent[k] ?? 0).toFixed(1);
  console.log(`# ${n} tabs across expiry: guarded requests ${JSON.stringify(stats.map((s) => s.outcome + (s.why ? `:${s.why}` : '')))}; the refresh: lock ${ms('lockWaitMs')} ms, storage + ledger ${ms('checkMs')} ms, request + core ${ms('sendMs')} ms, publish ${ms('publishMs')} ms`);
  await done(...ps);
}

test('two_tabs_across_the_jwt_expiry_one_refresh_every_call_succeeds', () => tabsAcrossExpiry(2));
test('five_tabs_across_the_jwt_expiry_one_refresh_every_call_succeeds', () => tabsAcrossExpiry(5));

test('frozen_tab_holding_the_lock_the_page_gets_a_fresh_session_and_never_sends_the_refresh_token', async () => {
  await fresh();
  const frozen = await page();
  const p = await page();
  await frozen.evaluate(() => sdk.freeze('frozen'));
  await p.evaluate(() => sdk.connect({ storageKey: 'frozen', lockTimeoutMs: 1000 }));
  assert.equal(await p.evaluate(() => sdk.call()), 200);
  await jump(DAY_MS + 10_000, [p]);
  assert.deepEqual(await p.evaluate(() => sdk.calls(3)), [200, 200, 200]);
  assert.equal((await refreshes(emu)).length, 0, 'the refresh token was never sent');
  assert.equal((await exchanges(emu)).length, 2, 'a fresh session from the backend instead');
  const st = await p.evaluate(() => sdk.stats());
  assert.ok(st.some((x) => x.outcome === 'withheld' && x.why === 'lock-timeout'), JSON.stringify(st));
  await done(frozen, p);
});

test('frozen_tab_holding_the_lock_with_the_key_held_the_core_exchanges_instead_of_refreshing', async () => {
  await fresh();
  const frozen = await page();
  const p = await page();
  await frozen.evaluate(() => sdk.freeze('frozen-key'));
  const key = emu.info.keys.read_write;
  await p.evaluate((apiKey) => sdk.connect({ apiKey, allowKeyInBrowser: true, withGetSession: false, storageKey: 'frozen-key', lockTimeoutMs: 1000 }), key);
  assert.equal(await p.evaluate(() => sdk.call()), 200);
  await jump(DAY_MS + 10_000, [p]);
  assert.deepEqual(await p.evaluate(() => sdk.calls(3)), [200, 200, 200]);
  assert.equal((await refreshes(emu)).length, 0, 'the refresh token was never sent');
  assert.equal((await exchanges(emu)).length, 2, 'the key was exchanged again instead');
  const st = await p.evaluate(() => sdk.stats());
  assert.ok(st.some((x) => x.outcome === 'withheld' && x.why === 'lock-timeout' && x.kind === 'refresh'), JSON.stringify(st));
  await done(frozen, p);
});

test('tab_holding_the_lock_closed_mid_refresh_the_other_recovers_within_the_lock_timeout', async () => {
  await fresh();
  const a = await page();
  const b = await page();
  for (const p of [a, b]) await p.evaluate(() => sdk.connect({ storage: 'localStorage', storageKey: 'mid', lockTimeoutMs: 4000 }));
  await emu.admin('/admin/fault', { target: 'auth', kind: 'slow', delay_ms: 3000 });
  // Both tabs wake past the expiry and call; whichever refreshes is closed while its
  // (slowed) refresh is in flight.
  await jump(DAY_MS + 10_000, [a, b]);
  const loops = [a, b].map((p) => p.evaluate(() => sdk.calls(3)).catch(() => null));
  let holder = null;
  while (!holder) {
    for (const p of [a, b]) if (await p.evaluate(() => sdk.inLock())) holder = p;
    await new Promise((r) => setTimeout(r, 50));
  }
  const other = holder === a ? b : a;
  await holder.close();
  pages.delete(holder);
  assert.deepEqual(await loops[holder === a ? 1 : 0], [200, 200, 200]);
  const st = await other.evaluate(() => sdk.stats());
  assert.ok(st.some((x) => x.why === 'spent-elsewhere'), JSON.stringify(st));
  assert.ok((await refreshes(emu)).length <= 1, 'the refresh token was sent once at most');
  assert.deepEqual(await failedRefreshes(), []);
  await done(other);
});

test('remount_in_one_tick_leaves_no_lock_and_the_new_client_works', async () => {
  await fresh();
  const p = await page();
  const r = await p.evaluate(() => sdk.remount({ storage: 'localStorage', storageKey: 'rm' }));
  assert.deepEqual(r, { held: 0, pending: 0, present: 1 }, 'only the live client is present');
  assert.equal(await p.evaluate(() => sdk.call()), 200);
  await done(p);
});

test('example_page_streams_a_chat_completion_chunk_by_chunk', async () => {
  await fresh();
  const p = await browser.page(`${web.url}/`, 'exampleReady');
  pages.add(p);
  // Rebuild the reply's text after every change the page makes to it (one mutation
  // record per append, even when several land in one task).
  await p.evaluate(() => {
    window.renders = [];
    let text = '';
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.removedNodes.length) text = '';
        for (const n of r.addedNodes) {
          text += n.textContent;
          window.renders.push(text);
        }
      }
    }).observe(document.getElementById('reply'), { childList: true });
  });
  await p.click('#send');
  await p.waitForFunction(() => document.getElementById('status').textContent !== 'streaming' && window.renders.length > 0);
  assert.equal(await p.textContent('#status'), 'done');
  const renders = (await p.evaluate(() => window.renders)).filter((t) => t.length > 0);
  const reply = await p.textContent('#reply');
  assert.match(reply, /^Hello from Toronto \(yto-01\)\. You said: Say hello from the edge\.\s*$/);
  assert.equal(renders.length, Number(await p.getAttribute('#reply', 'data-events')));
  assert.ok(renders.length > 5, `rendered in pieces: ${renders.length}`);
  for (let i = 1; i < renders.length; i++) assert.ok(renders[i].startsWith(renders[i - 1]) && renders[i].length > renders[i - 1].length);
  assert.equal(renders.at(-1), reply);
  console.log(`# example page: ${renders.length} SSE events rendered, from ${await p.getAttribute('#reply', 'data-reads')} network reads`);
  assert.match(await p.textContent('#region'), /yto-01/);
  assert.match(await p.textContent('#expiry'), /\d/);
  await done(p);
});

test('no_secret_in_any_page_console_or_dom', async () => {
  for (const p of [...pages]) await done(p);
  const p = await page();
  await p.evaluate(() => sdk.connect({ storage: 'localStorage', storageKey: 'dom' }));
  await p.evaluate(() => sdk.call());
  assert.equal(await p.evaluate(() => sdk.failingCall()), 'PolarGridError:not_found'); // its error is logged
  await collect(p);
  await p.evaluate(() => pg.logout());
  const dom = await p.content();
  await done(p);
  const consoleText = browser.consoleLines.join('\n');
  assert.ok(browser.consoleLines.length > 5, 'the pages did log');
  for (const s of secrets) {
    assert.ok(!consoleText.includes(s), `a secret (${s.slice(0, 4)}…) reached the console`);
    assert.ok(!dom.includes(s), `a secret (${s.slice(0, 4)}…) reached the DOM`);
  }
  assert.ok(secrets.size >= 7, `checked ${secrets.size} secrets`);
});
