// The driver's table of call and request ids (npm/wasm.js Ids) against a Map, on seeded
// random operations: ids in order as the core hands them out (from 1, and past 2^32 where
// `id & mask` wraps), deletes anywhere (the backward shift), growth, and what `close()` reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ids } from '../npm/wasm.js';

test('id_table_answers_as_a_map_does_through_adds_deletes_growth_and_wrapped_ids', () => {
  let seed = 7;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 60; round++) {
    const ids = new Ids();
    const map = new Map();
    let next = round % 3 === 0 ? 2 ** 32 - 5 : 1; // the low 32 bits wrap past 2^32
    for (let op = 0; op < 2000; op++) {
      const r = rnd(10);
      if (r < 4) {
        const id = next++;
        ids.set(id, { id });
        map.set(id, { id });
      } else if (r < 8) {
        const keys = [...map.keys()];
        const k = keys.length > 0 ? keys[rnd(keys.length)] : next + 3;
        ids.delete(k);
        map.delete(k);
      } else {
        const id = next - rnd(40);
        assert.equal(ids.get(id)?.id, map.get(id)?.id, `get ${id}`);
        assert.equal(ids.has(id), map.has(id), `has ${id}`);
      }
    }
    assert.deepEqual(ids.values().map((v) => v.id).sort((a, b) => a - b), [...map.keys()].sort((a, b) => a - b));
    ids.clear();
    assert.deepEqual(ids.values(), []);
    assert.equal(ids.get(next - 1), undefined);
  }
});
