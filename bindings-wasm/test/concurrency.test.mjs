// 1,000 concurrent pg.fetch across the JWT's expiry: exactly one refresh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PolarGrid } from '../npm/index.js';
import { pooledFetch, startEmulator } from '../support/emulator.mjs';

let emu;
before(async () => (emu = await startEmulator()));
after(async () => emu.stop());

test('thousand_concurrent_calls_across_jwt_expiry_refresh_exactly_once', async () => {
  await emu.admin('/admin/config', { jwt_ttl_s: 3600 });
  // 1,000 calls are in flight in the client; at most 128 connections on the wire.
  const pg = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: emu.info, fetch: pooledFetch(128) });
  assert.equal((await pg.fetch('/v1/models')).status, 200); // exchange + discovery
  const body = JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] });
  const call = async () => {
    const res = await pg.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    return res.status;
  };
  // Half start on the valid JWT; while they are in flight the server's clock passes the
  // JWT's expiry (the client's clock is not moved: a jump would time out what is in
  // flight), so early ones meet 401 token_expired at the edge and the core learns the
  // server's time from Date headers; then the other half start.
  const early = Array.from({ length: 500 }, call);
  await emu.admin('/admin/clock', { advance_ms: 3601000 });
  const late = Array.from({ length: 500 }, call);
  const statuses = await Promise.all([...early, ...late]);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal((await emu.log({ role: 'auth', path: '/v1/auth/refresh' })).length, 1, 'exactly one refresh');
  assert.equal((await emu.log({ role: 'auth', path: '/v1/auth/session' })).length, 1, 'no second exchange');
  assert.equal((await emu.log({ role: 'edge', path: '/v1/chat/completions', status: 200 })).length, 1000);
  pg.close();
});
