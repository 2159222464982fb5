// Loading the wasm core in real Node, from real HTTP answers: every way it can fail rejects
// `connect` with a PolarGridError of kind invalid_config whose fix names the cause, and a
// later connect tries again. The wrong-MIME test runs first: it is the one that
// instantiates the core in this process (the wasm-bindgen glue keeps the first instance).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PolarGridError } from '../npm/index.js';

const WASM = readFileSync(fileURLToPath(new URL('../npm/polargrid_wasm_bg.wasm', import.meta.url)));
const OPTIONS = { apiKey: 'pg_test_key_for_load_tests', baseURL: 'http://127.0.0.1:9/v1' };
let server, base;
let fresh = 0;
// A new instance of index.js (its own `load` memo) per test; the glue module is shared.
// (The static import above loads nothing: only connect and load do.)
const pkg = () => import(`../npm/index.js?load=${++fresh}`);

before(async () => {
  server = createServer((req, res) => {
    const answers = {
      '/octet.wasm': [200, 'application/octet-stream', WASM],
      '/page.wasm': [200, 'text/html; charset=utf-8', '<!doctype html><title>app</title>'],
      '/broken.wasm': [200, 'application/wasm', Buffer.from([0, 0x61, 0x73, 0x6d, 9, 9, 9, 9])],
      '/good.wasm': [200, 'application/wasm', WASM],
    };
    const [status, type, body] = answers[req.url] ?? [404, 'text/plain', 'not found'];
    res.writeHead(status, { 'content-type': type }).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((r) => server.close(r)));

async function rejectsWith(promise, fix) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, 'PolarGridError');
    assert.ok(e instanceof Error);
    assert.equal(e.constructor.name, PolarGridError.name);
    assert.equal(e.kind, 'invalid_config');
    assert.equal(e.retryable, false);
    assert.match(e.fix, fix);
    assert.match(e.message, /could not load its wasm/);
    return true;
  });
}

test('wasm_served_with_a_wrong_mime_type_still_loads_and_warns', async (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  const { PolarGrid } = await pkg();
  const pg = await PolarGrid.connect({ ...OPTIONS, wasm: `${base}/octet.wasm` });
  assert.equal(pg.status, 'none');
  pg.close();
  assert.equal(warn.mock.callCount(), 1);
  assert.match(warn.mock.calls[0].arguments[0], /application\/octet-stream, not application\/wasm/);
});

test('wasm_not_found_rejects_connect_naming_the_bundler_and_the_wasm_option', async () => {
  const { PolarGrid } = await pkg();
  await rejectsWith(PolarGrid.connect({ ...OPTIONS, wasm: `${base}/missing.wasm` }), /did not emit polargrid_wasm_bg\.wasm.*esbuild.*wasm: /);
});

test('a_page_served_in_place_of_the_wasm_is_reported_as_not_webassembly', async () => {
  const { PolarGrid } = await pkg();
  const p = PolarGrid.connect({ ...OPTIONS, wasm: `${base}/page.wasm` });
  await rejectsWith(p, /emit polargrid_wasm_bg\.wasm/);
  await p.catch((e) => assert.match(e.cause, /is not WebAssembly: the server answered text\/html, starting "<!doctype html>/));
});

test('corrupt_wasm_rejects_connect_with_invalid_config', async () => {
  const { PolarGrid } = await pkg();
  const p = PolarGrid.connect({ ...OPTIONS, wasm: `${base}/broken.wasm` });
  await rejectsWith(p, /unchanged/);
  await p.catch((e) => assert.match(e.cause, /not a WebAssembly module this runtime can compile/));
});

test('unreachable_wasm_url_names_the_network_and_connect_src', async () => {
  const { PolarGrid } = await pkg();
  const p = PolarGrid.connect({ ...OPTIONS, wasm: 'http://127.0.0.1:9/polargrid_wasm_bg.wasm' });
  await rejectsWith(p, /connect-src/);
});

test('a_wasm_option_of_the_wrong_type_rejects_connect', async () => {
  const { PolarGrid } = await pkg();
  await rejectsWith(PolarGrid.connect({ ...OPTIONS, wasm: 42 }), /URL, a Response of it/);
});

test('a_failed_load_is_retried_by_the_next_connect', async () => {
  const { PolarGrid, load } = await pkg();
  await rejectsWith(load(`${base}/missing.wasm`), /did not emit/);
  const pg = await PolarGrid.connect({ ...OPTIONS, wasm: `${base}/good.wasm` });
  pg.close();
});

test('the_wasm_beside_the_package_loads_from_disk_bytes_and_a_module', async () => {
  for (const wasm of [undefined, WASM, new Uint8Array(WASM).buffer, await WebAssembly.compile(WASM)]) {
    const { PolarGrid } = await pkg();
    const pg = await PolarGrid.connect({ ...OPTIONS, wasm });
    pg.close();
  }
});

test('node_reads_the_wasm_built_for_speed_and_falls_back_to_the_other_when_it_is_missing', async (t) => {
  const fs = process.getBuiltinModule('node:fs');
  const read = fs.promises.readFile;
  const names = [];
  let missing = false;
  t.mock.method(fs.promises, 'readFile', (path, ...rest) => {
    const name = String(path).split('/').pop();
    if (name.endsWith('.wasm')) names.push(name); // (the module loader reads index.js too)
    if (missing && name === 'polargrid_wasm_node.wasm') return Promise.reject(Object.assign(new Error('no such file'), { code: 'ENOENT' }));
    return read.call(fs.promises, path, ...rest);
  });
  let { PolarGrid } = await pkg();
  (await PolarGrid.connect(OPTIONS)).close();
  assert.deepEqual(names, ['polargrid_wasm_node.wasm']);
  names.length = 0;
  missing = true;
  ({ PolarGrid } = await pkg());
  (await PolarGrid.connect(OPTIONS)).close();
  assert.deepEqual(names, ['polargrid_wasm_node.wasm', 'polargrid_wasm_bg.wasm']);
});
