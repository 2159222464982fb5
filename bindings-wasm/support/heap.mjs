// The wasm allocator (bindings-wasm/src/alloc.rs) reuses freed memory: a client lives for
// months, so 50,000 calls after warm-up (successes, and classified 400s whose JSON bodies
// and error texts are allocated and freed) must not grow the wasm memory at all. Run once per
// build of the wasm (test/heap*.test.mjs: one process each, as the glue keeps its first
// instance).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Core, Link, Options, instantiate, memoryBytes } from '../npm/wasm.js';

/** 52,000 calls through a core of `file` (beside the package's index.js). */
export async function longLivedCore(file) {
  await instantiate(await readFile(new URL(`../npm/${file}`, import.meta.url)));
  const o = new Options();
  o.set('apiKey', 'pg_test_key_1234567890abcdef');
  o.set('mode', 'direct');
  o.set('region', 'yto-01');
  const core = new Core(o, 1, 1.8e12);
  const link = new Link(core);
  let now = 1.8e12;
  const counts = { ready: 0, failed: 0 };
  const round = (i) => {
    const n = link.put(0, '/v1/chat/completions');
    assert.notEqual(core.start(now, 1, n, link.put(n, `{"model":"llama-${i % 7}"}`)), 0, core.last_error());
    const events = [];
    for (let out = link.read(); out.length > 0; ) {
      const r = out.shift();
      if (!r.request) {
        events.push(r);
        continue;
      }
      if (i % 2) core.response(now, r.id, 200, -1, -1, -1);
      else core.response(now, r.id, 400, -1, -1, link.put(0, JSON.stringify({ error: { message: `bad ${i}` }, code: `c${i}` })));
      out.push(...link.read());
    }
    for (const e of events) {
      if (e.kind === 3) counts.failed++;
      if (e.kind === 1 || e.kind === 2) counts.ready++;
    }
    core.tick(now);
    link.read();
    now += 5;
  };
  for (let i = 0; i < 2000; i++) round(i);
  const warm = memoryBytes();
  for (let i = 0; i < 50000; i++) round(i);
  assert.equal(memoryBytes(), warm, 'the wasm memory grew: freed memory is not reused');
  assert.equal(link.openCalls(), 0);
  assert.equal(counts.ready, 26000);
  assert.equal(counts.failed, 26000);
}
