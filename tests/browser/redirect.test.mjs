// No request a page sends follows a redirect (lib.rs "The transport contract", rule 1):
// the auth service answers 307 to another origin that answers CORS to anyone, and the
// refresh token (or the key) never reaches it. The page sees an opaque redirect, which
// the driver passes to the core as status 300.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { launch, startEmulator, startPages } from './lib.mjs';

let emu, web, browser, trap, redirector;
const seen = []; // everything that reached the other origin, preflights included
const asked = []; // what the redirecting auth service was asked

const cors = (req) => ({
  'access-control-allow-origin': req.headers.origin ?? '*',
  'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
});
function listen(handler) {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

before(async () => {
  emu = await startEmulator();
  web = await startPages(emu);
  browser = await launch();
  trap = await listen((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body });
      res.writeHead(req.method === 'OPTIONS' ? 204 : 200, { ...cors(req), 'content-type': 'application/json' }).end(req.method === 'OPTIONS' ? undefined : '{}');
    });
  });
  redirector = await listen((req, res) => {
    req.resume();
    if (req.method === 'OPTIONS') return res.writeHead(204, cors(req)).end();
    asked.push(`${req.method} ${req.url}`);
    res.writeHead(307, { ...cors(req), location: `${urlOf(trap)}${req.url}` }).end();
  });
});
after(async () => {
  await browser?.close();
  await web?.close();
  trap?.close();
  redirector?.close();
  emu?.stop();
});

async function page() {
  return browser.page(`${web.url}/pages/sdk.html`);
}

test('page_exchange_answered_307_fails_classified_and_the_other_origin_sees_nothing', async () => {
  const p = await page();
  const endpoints = { ...emu.info, auth: urlOf(redirector) };
  const r = await p.evaluate(
    ({ apiKey, endpoints }) => sdk.connectResult({ apiKey, allowKeyInBrowser: true, withGetSession: false, endpoints, maxAttempts: 1 }),
    { apiKey: emu.info.keys.read_write, endpoints },
  );
  assert.deepEqual(r, { ok: true, status: 'PolarGridError:unexpected_status' });
  await p.close();
  assert.ok(asked.includes('POST /v1/auth/session'), 'the exchange went to the auth service');
  assert.deepEqual(seen, [], 'the redirect target received a request');
});

test('page_refresh_answered_307_never_carries_the_refresh_token_to_the_other_origin', async () => {
  const p = await page();
  const endpoints = { ...emu.info, auth: urlOf(redirector) };
  // The backend mints with the real auth service; the page's own auth service redirects.
  assert.equal(await p.evaluate((endpoints) => sdk.connect({ endpoints, tabs: false }), endpoints), 'active');
  await p.evaluate(() => sdk.shift(2 * 86_400_000)); // past the JWT, within the refresh token
  const status = await p.evaluate(() => sdk.call());
  const snap = JSON.parse(await p.evaluate(() => sdk.snapshot()) ?? '{}');
  await p.evaluate(() => sdk.close());
  await p.close();
  assert.ok(asked.includes('POST /v1/auth/refresh'), `the refresh went to the auth service (call: ${status})`);
  assert.deepEqual(seen, [], 'the redirect target received a request');
  assert.ok(!JSON.stringify(seen).includes(snap.refresh_token ?? 'none'));
});
