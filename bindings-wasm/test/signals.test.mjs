// The driver reuses a request's AbortController for a later request once nothing of the
// first can be cut by it any more (its answer had no body, or the driver read it): making an
// AbortSignal costs Node 20 ~2.4 µs a call. Real Node fetch against a real HTTP server: an
// answer whose body the app holds never shares its signal with a request aborted later.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { PolarGrid } from '../npm/index.js';

const servers = [];
after(() => servers.forEach((s) => s.close()));

/** A client in direct mode against a local server answering with `handler`; `signals` gets
 * the AbortSignal of every request the driver sends. */
async function connected(handler, options = {}) {
  const server = createServer(handler);
  servers.push(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const signals = [];
  const pg = await PolarGrid.connect({
    apiKey: 'pg_test_0123456789abcdef0123456789abcdef',
    mode: 'direct',
    baseURL: `http://127.0.0.1:${server.address().port}`,
    ...options,
    fetch: (url, init) => (signals.push(init.signal), fetch(url, init)),
  });
  return { pg, signals };
}

test('a_later_request_aborted_at_its_deadline_never_cuts_the_body_the_app_holds', async () => {
  let finish;
  const rest = new Promise((resolve) => (finish = resolve));
  const { pg, signals } = await connected(
    (req, res) => {
      req.resume();
      if (req.url === '/v1/empty') res.writeHead(204).end();
      else if (req.url === '/v1/missing') res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such thing"}}');
      else if (req.url === '/v1/body') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first half, ');
        rest.then(() => res.end('second half'));
      } // anything else: never answered
    },
    { maxAttempts: 1 },
  );

  assert.equal((await pg.fetch('/v1/empty')).status, 204);
  await assert.rejects(pg.fetch('/v1/missing'), (e) => e.kind === 'not_found');
  const held = await pg.fetch('/v1/body'); // its body is the app's from here on
  await assert.rejects(pg.fetch('/v1/hang', { deadline: 200 }), (e) => e.kind === 'network' && e.transport === 'timeout');
  const [empty, missing, body, hang] = signals;
  assert.equal(missing, empty, 'the signal of a bodiless answer serves the next request');
  assert.equal(body, missing, "the signal of a failure whose body the driver read serves the next request");
  assert.notEqual(hang, body, 'the signal of an answer whose body the app holds is never reused');
  assert.ok(hang.aborted && !body.aborted);

  finish();
  assert.equal(await held.text(), 'first half, second half');
  pg.close();
});

test('a_request_the_app_can_abort_keeps_its_own_signal', async () => {
  const { pg, signals } = await connected((req, res) => (req.resume(), res.writeHead(204).end()));
  const app = new AbortController();
  await pg.fetch('/v1/a', { signal: app.signal });
  await pg.fetch('/v1/b');
  await pg.fetch('/v1/c');
  // The first may stop its answer's body when the app aborts later: never lent out again.
  assert.notEqual(signals[1], signals[0]);
  assert.equal(signals[2], signals[1]);
  app.abort();
  assert.ok(signals[0].aborted && !signals[1].aborted);
  pg.close();
});
