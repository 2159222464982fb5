// No request the driver sends follows a redirect: a 307 from the auth service or the
// autorouter is an answer the core classifies, and the host it names sees nothing (a
// followed refresh would carry a 30-day refresh token there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { PolarGrid } from '../npm/index.js';
import { startEmulator, testClock } from '../support/emulator.mjs';

let emu;
let trap;
let redirector;
const seen = [];
const asked = []; // what the redirector was asked (the test's requests did go out)

function listen(handler) {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

before(async () => {
  emu = await startEmulator();
  trap = await listen((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  redirector = await listen((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(307, { location: `${urlOf(trap)}${req.url}` }).end();
  });
});
after(async () => {
  trap.close();
  redirector.close();
  await emu.stop();
});

test('exchange_answered_307_fails_classified_and_the_other_host_sees_nothing', async () => {
  const pg = await PolarGrid.connect({
    apiKey: emu.info.keys.read_write,
    endpoints: { ...emu.info, auth: urlOf(redirector) },
    region: 'yto-01',
    maxAttempts: 1,
  });
  await assert.rejects(pg.fetch('/v1/models'), (e) => {
    assert.equal(e.name, 'PolarGridError');
    assert.equal(e.status, 307);
    return true;
  });
  pg.close();
  assert.deepEqual(seen, [], 'the redirect target received a request');
});

test('discovery_answered_307_falls_back_and_the_other_host_sees_nothing', async () => {
  const pg = await PolarGrid.connect({
    apiKey: emu.info.keys.read_write,
    endpoints: { ...emu.info, autorouter: urlOf(redirector) },
  });
  const res = await pg.fetch('/v1/models');
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  pg.close();
  assert.deepEqual(seen, [], 'the redirect target received a request');
});

test('refresh_answered_307_fails_the_call_and_the_refresh_token_reaches_no_other_host', async () => {
  // A session minted by the real auth service, restored in a client whose auth service
  // answers every request with a 307 to the trap; the clock moves past the JWT's expiry.
  const mint = await fetch(`${emu.info.auth}/v1/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${emu.info.keys.read_write}` } });
  const grant = await mint.text();
  const first = await PolarGrid.connect({ mode: 'handoff', endpoints: emu.info, region: 'yto-01' });
  first.handOver(grant);
  const snapshot = first.snapshot();
  first.close();
  const now = testClock();
  const pg = await PolarGrid.connect({ mode: 'handoff', session: snapshot, now, endpoints: { ...emu.info, auth: urlOf(redirector) }, region: 'yto-01' });
  now.advance(2 * 86_400_000); // past the JWT (a day), within the refresh token's life
  const error = await pg.fetch('/v1/models').then(() => null, (e) => e);
  assert.equal(error?.name, 'PolarGridError');
  assert.equal(error.kind, 'unexpected_status');
  pg.close();
  assert.ok(asked.includes('POST /v1/auth/refresh'), 'the refresh went to the auth service');
  assert.deepEqual(seen, [], 'the redirect target received a request');
  assert.ok(!JSON.stringify(error).includes(JSON.parse(snapshot).refresh_token), 'no token in the error');
});

test('app_call_answered_307_fails_classified_and_the_other_host_sees_nothing', async () => {
  const pg = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, mode: 'direct', endpoints: emu.info, baseURL: urlOf(redirector), maxAttempts: 1 });
  await assert.rejects(
    pg.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' }),
    (e) => e.name === 'PolarGridError' && e.status === 307,
  );
  pg.close();
  assert.ok(asked.includes('POST /v1/chat/completions'));
  assert.deepEqual(seen, [], 'the redirect target received a request');
});
