// No request the driver sends follows a redirect: a 307 from the auth service or the
// autorouter is an answer the core classifies, and the host it names sees nothing (a
// followed refresh would carry a 30-day refresh token there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { PolarGrid } from '../npm/index.js';
import { startEmulator } from '../support/emulator.mjs';

let emu;
let trap;
let redirector;
const seen = [];

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
