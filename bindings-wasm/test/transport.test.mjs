// Node's transport failures reach the core as the kinds of the table in core/src/lib.rs
// ("The transport contract"), produced for real: a closed port, an unknown host, a
// listener that never accepts (its backlog full), TLS spoken to a plain listener, a
// connection reset after the request, an answer that is not HTTP. And a request the core
// gives up on (its deadline) is aborted at once: the server sees its connection close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { PolarGrid } from '../npm/index.js';

const servers = [];
let stuck; // python: a listener that never accepts, its backlog filled
const fillers = [];

function raw(onSocket) {
  const server = net.createServer(onSocket);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}
async function closedPort() {
  const s = net.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

before(async () => {
  stuck = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  stuck.port = await new Promise((resolve) => stuck.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  // Fill the accept queue (backlog 0 holds one): the kernel then drops new connection
  // attempts unanswered. The first filler connects; the others stay pending.
  for (let i = 0; i < 3; i++) {
    const s = net.connect(stuck.port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    if (i === 0) await new Promise((resolve) => s.once('connect', resolve));
  }
});
after(() => {
  for (const s of servers) s.close();
  for (const s of fillers) s.destroy();
  stuck.stdin.end();
  stuck.kill();
});

/** One direct-mode call to `base`, one attempt; the error it fails with. */
async function failure(base, opts = {}) {
  const pg = await PolarGrid.connect({ apiKey: 'pg_test_0123456789abcdef0123456789abcdef', mode: 'direct', baseURL: base, maxAttempts: 1, ...opts });
  try {
    const res = await pg.fetch('/v1/models');
    await res.arrayBuffer();
    return null;
  } catch (e) {
    return e;
  } finally {
    pg.close();
  }
}

function assertNetwork(e, transport) {
  assert.equal(e?.name, 'PolarGridError', String(e?.stack ?? e));
  assert.equal(e.kind, 'network');
  assert.equal(e.transport, transport, `${e.message}`);
}

test('closed_port_fails_as_connect', async () => {
  assertNetwork(await failure(`http://127.0.0.1:${await closedPort()}`), 'connect');
});

test('unknown_host_fails_as_dns', async () => {
  assertNetwork(await failure('https://no-such-host.invalid'), 'dns');
});

test('listener_that_never_accepts_fails_as_connect_timeout_within_the_connect_timeout', async () => {
  const t0 = Date.now();
  const e = await failure(`http://127.0.0.1:${stuck.port}`, { connectTimeoutMs: 300 });
  assertNetwork(e, 'connect_timeout');
  // undici checks its connect timers every 500 ms: well under the 10 s default either way.
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});

test('tls_spoken_to_a_plain_listener_fails_as_tls', async () => {
  const port = await raw((s) => s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')).on('error', () => {}));
  assertNetwork(await failure(`https://127.0.0.1:${port}`), 'tls');
});

test('connection_reset_after_the_request_fails_as_aborted', async () => {
  const port = await raw((s) => s.once('data', () => s.resetAndDestroy()).on('error', () => {}));
  assertNetwork(await failure(`http://127.0.0.1:${port}`), 'aborted');
});

test('answer_that_is_not_http_fails_as_protocol', async () => {
  const port = await raw((s) => s.once('data', () => s.end('HELLO THERE\r\n\r\n')).on('error', () => {}));
  assertNetwork(await failure(`http://127.0.0.1:${port}`), 'protocol');
});

test('request_past_its_deadline_fails_as_timeout_and_its_connection_closes_at_once', async () => {
  let closed;
  const gone = new Promise((resolve) => (closed = resolve));
  const port = await raw((s) => {
    s.on('error', () => {});
    s.on('close', closed); // never answers: the client must hang up
  });
  const e = await failure(`http://127.0.0.1:${port}`, { requestTimeoutMs: 200 });
  assertNetwork(e, 'timeout');
  await gone; // the test's timeout is the failure guard
});

test('call_deadline_option_bounds_every_attempt_together', async () => {
  const port = await raw((s) => s.on('error', () => {}));
  const t0 = Date.now();
  const e = await failure(`http://127.0.0.1:${port}`, { callDeadlineMs: 300, maxAttempts: 4, backoffBaseMs: 10, backoffMaxMs: 20 });
  assertNetwork(e, 'timeout');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test('per_call_deadline_bounds_that_call', async () => {
  const port = await raw((s) => s.on('error', () => {}));
  const pg = await PolarGrid.connect({ apiKey: 'pg_test_0123456789abcdef0123456789abcdef', mode: 'direct', baseURL: `http://127.0.0.1:${port}` });
  const t0 = Date.now();
  await assert.rejects(pg.fetch('/v1/models', { deadline: 250 }), (e) => e.kind === 'network' && e.transport === 'timeout');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  await assert.rejects(pg.fetch('/v1/models', { deadline: 'soon' }), TypeError);
  pg.close();
});

test('options_out_of_the_cores_range_are_refused_as_invalid_config', async () => {
  for (const bad of [{ maxAttempts: 0 }, { requestTimeoutMs: 0 }, { connectTimeoutMs: 0 }, { callDeadlineMs: 1.5 }, { mode: 'nope' }]) {
    await assert.rejects(PolarGrid.connect({ apiKey: 'pg_test_0123456789abcdef0123456789abcdef', ...bad }), (e) => e.kind === 'invalid_config', JSON.stringify(bad));
  }
  await assert.rejects(PolarGrid.connect({ apiKey: 'pg_test_0123456789abcdef0123456789abcdef', mode: 'handoff' }), (e) => e.kind === 'invalid_config' && /handoff/.test(e.message));
  await assert.rejects(PolarGrid.connect({ region: 'yto-01', baseURL: 'http://127.0.0.1:1', mode: 'handoff' }), (e) => e.kind === 'invalid_config');
});

test('exchange_whose_body_never_ends_times_out_and_leaves_no_connection_open', async () => {
  const { startEmulator } = await import('../support/emulator.mjs');
  const { createServer } = await import('node:http');
  const emu = await startEmulator();
  const open = new Set();
  const auth = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"session_token":'); // and never the rest
  });
  auth.on('connection', (s) => (open.add(s), s.on('close', () => open.delete(s))));
  await new Promise((resolve) => auth.listen(0, '127.0.0.1', resolve));
  const pg = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: { ...emu.info, auth: `http://127.0.0.1:${auth.address().port}` }, region: 'yto-01', authTimeoutMs: 200, maxAttempts: 2 });
  const e = await pg.fetch('/v1/models').then(() => null, (x) => x);
  assertNetwork(e, 'timeout');
  // undici reopens an idle connection after an abort, kept for its 4 s keep-alive unless
  // the driver retires the agent: well within that, nothing may be open.
  const until = Date.now() + 1500;
  while (open.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(open.size, 0, 'connections to the auth service left open after the call failed');
  pg.close();
  auth.close();
  await emu.stop();
});

test('an_agent_the_app_installed_with_options_is_kept', async () => {
  // An app that set its own global dispatcher (a CA, a proxy) keeps it: the driver only
  // replaces Node's default Agent.
  const key = Symbol.for('undici.globalDispatcher.1');
  const saved = globalThis[key];
  const Agent = saved.constructor;
  const mine = new Agent({ connect: { timeout: 10_000, rejectUnauthorized: true } });
  let used = 0;
  const dispatch = mine.dispatch.bind(mine);
  mine.dispatch = (...a) => (used++, dispatch(...a));
  globalThis[key] = mine;
  try {
    const e = await failure(`http://127.0.0.1:${await closedPort()}`);
    assertNetwork(e, 'connect');
    assert.equal(used, 1, "the app's dispatcher carried the request");
  } finally {
    globalThis[key] = saved;
    await mine.close();
  }
});
