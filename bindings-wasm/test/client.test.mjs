// pg.fetch and the client's life against the real emulator over real HTTP.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PolarGrid, PolarGridError } from '../npm/index.js';
import { startEmulator, testClock } from '../support/emulator.mjs';

let emu;
before(async () => (emu = await startEmulator()));
after(async () => emu.stop());
beforeEach(async () => emu.admin('/admin/reset', {}));

const connect = (opts = {}) =>
  PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: emu.info, backoffBaseMs: 20, backoffMaxMs: 100, ...opts });

function assertNoSecret(e, secrets) {
  for (const text of [e.message, e.stack, JSON.stringify(e), String(e)]) {
    for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked into ${text.slice(0, 80)}…`);
  }
}

test('malformed_key_rejects_connect_before_any_request', async () => {
  await assert.rejects(connect({ apiKey: 'sk-not-a-polargrid-key' }), (e) => {
    assert.ok(e instanceof PolarGridError);
    assert.equal(e.kind, 'invalid_config');
    assert.match(e.fix, /pg_/);
    assertNoSecret(e, ['sk-not-a-polargrid-key']);
    return true;
  });
  await assert.rejects(connect({ region: 'not a region!' }), (e) => e.kind === 'invalid_config' && /region/.test(e.message));
  await assert.rejects(connect({ endpoints: '[1,2]' }), (e) => e.kind === 'invalid_config' && /endpoints/.test(e.message));
  await assert.rejects(connect({ apiKey: undefined }), (e) => e.kind === 'invalid_config' && e.fix.length > 0);
  await assert.rejects(connect({ apikey: 'typo' }), (e) => e.kind === 'invalid_config' && /apikey/.test(e.message));
  assert.equal((await emu.log()).length, 0, 'no request reached any service');
});

test('revoked_key_fails_with_invalid_api_key_fields_and_no_secret', async () => {
  const key = emu.info.keys.revoked;
  const pg = await connect({ apiKey: key });
  await assert.rejects(pg.fetch('/v1/models'), (e) => {
    assert.ok(e instanceof PolarGridError && e instanceof Error);
    assert.equal(e.kind, 'invalid_api_key');
    assert.equal(e.status, 401);
    assert.equal(e.retryable, false);
    assert.equal(e.retryAfterMs, null);
    assert.ok(e.cause.length > 0 && e.fix.length > 0);
    assert.equal(typeof e.serverMessage, 'string');
    assertNoSecret(e, [key]);
    return true;
  });
  pg.close();
});

test('rate_limited_call_carries_retry_after_and_request_id', async () => {
  const pg = await connect({ region: 'yto-01', maxAttempts: 1 });
  await pg.fetch('/v1/models'); // the session first
  await emu.admin('/admin/fault', { target: 'region:yto-01', kind: 'rate_limit', retry_after: '120', count: 1 });
  await assert.rejects(pg.fetch('/v1/models'), (e) => {
    assert.equal(e.kind, 'rate_limited');
    assert.equal(e.status, 429);
    assert.equal(e.retryable, true);
    assert.equal(e.retryAfterMs, 120000);
    assert.match(e.requestId, /\S/);
    const sent = JSON.parse(JSON.stringify(e));
    assert.deepEqual(Object.keys(sent).sort(), ['attempts', 'cause', 'fix', 'kind', 'message', 'name', 'requestId', 'retryAfterMs', 'retryable', 'serverMessage', 'status', 'transport']);
    assertNoSecret(e, [emu.info.keys.read_write, pg.snapshot()]);
    return true;
  });
  pg.close();
});

test('abort_in_flight_rejects_with_the_reason_and_cancels_in_the_core', async () => {
  const pg = await connect({ region: 'yto-01' });
  await pg.fetch('/v1/models');
  await emu.admin('/admin/fault', { target: 'region:yto-01', kind: 'slow', delay_ms: 30000, count: 1 });
  const ctrl = new AbortController();
  const call = pg.fetch('/v1/models', { signal: ctrl.signal });
  while ((await emu.log({ role: 'edge' })).length < 2) await new Promise((r) => setImmediate(r));
  ctrl.abort(new Error('user gave up'));
  await assert.rejects(call, /user gave up/);
  // The core forgot the call: nothing is retried, and the next call goes through at once.
  const res = await pg.fetch('/v1/models');
  assert.equal(res.status, 200);
  pg.close();
});

test('abort_while_waiting_for_the_session_rejects_with_abort_error', async () => {
  await emu.admin('/admin/fault', { target: 'auth', kind: 'slow', delay_ms: 30000, count: 1 });
  const pg = await connect({ region: 'yto-01' });
  const ctrl = new AbortController();
  const call = pg.fetch('/v1/models', { signal: ctrl.signal });
  ctrl.abort();
  await assert.rejects(call, { name: 'AbortError' });
  pg.close();
});

test('pre_aborted_signal_rejects_without_any_request', async () => {
  const pg = await connect();
  await assert.rejects(pg.fetch('/v1/models', { signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal((await emu.log()).length, 0);
  pg.close();
});

test('full_url_on_a_region_is_accepted_and_a_foreign_host_refused', async () => {
  const pg = await connect();
  assert.equal((await pg.fetch(`${pg.baseURL}/models`)).status, 200);
  assert.equal((await pg.fetch(new URL(`${emu.info.regions[1].url}/v1/models?x=1`))).status, 200);
  await assert.rejects(pg.fetch('https://example.com/v1/models'), TypeError);
  await assert.rejects(pg.fetch(`${emu.info.regions[0].url}0/v1/models`), TypeError, 'a longer port is another host');
  pg.close();
});

test('events_report_session_and_region_with_a_snapshot_to_persist', async () => {
  const pg = await connect();
  const sessions = [];
  const regions = [];
  pg.on('session', (s) => sessions.push(s));
  pg.on('region', (r) => regions.push(r));
  await pg.fetch('/v1/models');
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].reason, 'exchanged');
  assert.ok(sessions[0].expiresAt > Date.now());
  assert.ok(sessions[0].snapshot.includes('session_token'));
  assert.deepEqual(regions, [{ region: 'yto-01', endpoint: emu.info.regions[0].url, reason: 'discovered' }]);
  pg.logout();
  assert.equal(sessions.at(-1).reason, 'cleared');
  assert.equal(sessions.at(-1).snapshot, null);
  pg.close();
});

test('handoff_session_revoked_at_refresh_emits_session_ended_and_a_new_hand_over_resumes', async () => {
  await emu.admin('/admin/config', { jwt_ttl_s: 3600 });
  const now = testClock();
  const pg = await connect({ apiKey: undefined, mode: 'handoff', now });
  const ended = new Promise((resolve) => pg.on('sessionEnded', resolve));
  const mint = async () => (await fetch(`${emu.info.auth}/v1/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${emu.info.keys.read_write}` } })).text();
  pg.handOver(await mint());
  assert.equal((await pg.fetch('/v1/models')).status, 200);
  await emu.admin('/admin/revoke', { all: true });
  await emu.admin('/admin/clock', { advance_ms: 3601000 });
  now.advance(3601000);
  const waiting = pg.fetch('/v1/models'); // needs a refresh, which the auth service refuses
  const { error } = await ended;
  assert.ok(error instanceof PolarGridError);
  assert.equal(error.kind, 'session_expired');
  assert.equal(pg.status, 'ended');
  pg.handOver(await mint()); // the app's backend mints a new one; the waiting call goes on
  assert.equal((await waiting).status, 200);
  pg.close();
});

test('restore_from_snapshot_calls_without_a_new_exchange', async () => {
  let persisted = null;
  const first = await connect({ onSession: (s) => (persisted = s.snapshot) });
  await first.fetch('/v1/models');
  assert.equal(first.snapshot(), persisted);
  first.close();
  const second = await connect({ session: persisted });
  assert.equal(second.status, 'active');
  assert.equal((await second.fetch('/v1/models')).status, 200);
  second.close();
  assert.equal((await emu.log({ role: 'auth', path: '/v1/auth/session' })).length, 1);
  assert.equal((await emu.log({ role: 'edge', credential: 'jwt', status: 200 })).length, 2);
});

test('close_rejects_open_calls_and_later_ones', async () => {
  await emu.admin('/admin/fault', { target: 'auth', kind: 'slow', delay_ms: 30000, count: 1 });
  const pg = await connect();
  const call = pg.fetch('/v1/models');
  pg.close();
  await assert.rejects(call, { name: 'AbortError' });
  await assert.rejects(pg.fetch('/v1/models'), { name: 'AbortError' });
});

test('node_process_with_a_closed_client_exits_on_its_own', async () => {
  // A child with a call stuck on a 30 s edge delay and a session refresh timer: after
  // close() nothing may keep it alive (the test's own timeout is the failure guard).
  await emu.admin('/admin/fault', { target: 'region:yto-01', kind: 'slow', delay_ms: 30000, count: 1 });
  const index = fileURLToPath(new URL('../npm/index.js', import.meta.url));
  const script = `
    import { PolarGrid } from ${JSON.stringify(index)};
    const pg = await PolarGrid.connect({ apiKey: ${JSON.stringify(emu.info.keys.read_write)}, endpoints: ${JSON.stringify(JSON.stringify(emu.info))}, region: 'yto-01' });
    const stuck = pg.fetch('/v1/models').catch((e) => console.log('call:', e.name));
    const poll = async () => { const r = await fetch(${JSON.stringify(emu.info.admin)} + '/admin/log?role=edge'); return (await r.json()).entries.length; };
    while ((await poll()) < 1) await new Promise((r) => setTimeout(r, 10));
    pg.close();
    await stuck;
    console.log('closed');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0);
  assert.match(out, /call: AbortError\nclosed/);
});

test('status_after_sleeping_past_the_refresh_tokens_life_is_ended_at_once', async () => {
  const now = testClock();
  const pg = await connect({ apiKey: undefined, mode: 'handoff', now });
  const mint = await fetch(`${emu.info.auth}/v1/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${emu.info.keys.read_write}` } });
  pg.handOver(await mint.text());
  assert.equal(pg.status, 'active');
  const ended = [];
  pg.on('sessionEnded', (e) => ended.push(e.error.kind));
  now.advance(40 * 86_400_000); // the device slept past the refresh token's 30 days: no timer fired
  assert.equal(pg.status, 'ended');
  assert.deepEqual(ended, ['session_expired']);
  pg.close();
});

test('cancelled_call_closes_its_connection_at_once', async () => {
  const { createServer } = await import('node:net');
  let closed;
  const gone = new Promise((resolve) => (closed = resolve));
  let arrived;
  const there = new Promise((resolve) => (arrived = resolve));
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', arrived);
    s.on('close', closed); // never answers: only the client can hang up
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pg = await connect({ mode: 'direct', baseURL: `http://127.0.0.1:${server.address().port}` });
  const ctrl = new AbortController();
  const call = pg.fetch('/v1/models', { signal: ctrl.signal });
  await there;
  ctrl.abort(new Error('user left'));
  await assert.rejects(call, /user left/);
  await gone; // the test's timeout is the failure guard
  pg.close();
  server.close();
});

// The driver reads a core-owned answer only up to the limit its request carries
// (HttpRequest::body_limit, 64 KiB): an exchange answer that never ends is cut there, not
// read for ever. (The transport is Node's fetch; only the auth service's answer is replaced.)
test('endless_core_owned_answer_is_read_only_up_to_the_cores_limit', { timeout: 10_000 }, async () => {
  let most = 0;
  let cut;
  const cancelled = new Promise((r) => (cut = r));
  const endless = () => {
    let pulled = 0;
    return new ReadableStream({
      pull(c) {
        pulled += 16384;
        most = Math.max(most, pulled);
        c.enqueue(new Uint8Array(16384).fill(32));
      },
      cancel: () => cut(),
    });
  };
  const fetch = (url, init) =>
    String(url).startsWith(emu.info.auth)
      ? Promise.resolve(new Response(endless(), { status: 200, headers: { 'content-type': 'application/json' } }))
      : globalThis.fetch(url, init);
  const pg = await connect({ fetch });
  const call = pg.fetch('/v1/models').catch((e) => e);
  await cancelled;
  pg.close();
  await call;
  assert.ok(most <= 64 * 1024 + 2 * 16384, `read ${most} bytes of an endless answer`);
});
