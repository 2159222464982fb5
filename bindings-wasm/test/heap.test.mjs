// The wasm allocator (bindings-wasm/src/alloc.rs) reuses freed memory: a client lives for
// months, so 50,000 calls after warm-up (successes, and classified 400s whose JSON bodies
// and error texts are allocated and freed) must not grow the wasm memory at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import init, { Core, Options } from '../npm/polargrid_wasm.js';

test('long_lived_core_reuses_freed_memory_and_never_grows_after_warm_up', async () => {
  const wasm = await init({ module_or_path: await readFile(new URL('../npm/polargrid_wasm_bg.wasm', import.meta.url)) });
  const o = new Options();
  o.set('apiKey', 'pg_test_key_1234567890abcdef');
  o.set('mode', 'direct');
  o.set('region', 'yto-01');
  const core = new Core(o, 1, 1.8e12);
  let now = 1.8e12;
  const counts = { ready: 0, failed: 0 };
  const round = (i) => {
    assert.notEqual(core.start(now, 1, '/v1/chat/completions', `llama-${i % 7}`), 0, core.last_error());
    while (core.next_request(now) !== undefined) {
      const r = new Float64Array(wasm.memory.buffer, core.info_ptr(), 6)[0]; // the request's id
      if (i % 2) core.response(now, r, 200, undefined, undefined, undefined);
      else core.response(now, r, 400, undefined, undefined, JSON.stringify({ error: { message: `bad ${i}` }, code: `c${i}` }));
    }
    for (let e; (e = core.poll_event()) !== 0; ) {
      if (e === 3) { counts.failed++; core.event_fields(); }
      if (e === 1 || e === 2) counts.ready++;
    }
    core.tick(now);
    now += 5;
  };
  for (let i = 0; i < 2000; i++) round(i);
  const warm = wasm.memory.buffer.byteLength;
  for (let i = 0; i < 50000; i++) round(i);
  assert.equal(wasm.memory.buffer.byteLength, warm, 'the wasm memory grew: freed memory is not reused');
  assert.equal(core.open_calls(), 0);
  assert.equal(counts.ready, 26000);
  assert.equal(counts.failed, 26000);
});
