// The block's texts are decoded by Node's Buffer.prototype.utf8Slice only when it decodes a
// sample exactly as TextDecoder does (npm/wasm.js checkedDecoder): it is not a documented API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkedDecoder } from '../npm/wasm.js';

test('node_utf8_slice_passes_the_check_and_is_used', () => {
  assert.equal(checkedDecoder(Buffer.prototype.utf8Slice), Buffer.prototype.utf8Slice);
});

test('a_decoder_that_differs_from_text_decoder_or_throws_is_refused', () => {
  const real = Buffer.prototype.utf8Slice;
  // Right on ASCII, wrong on invalid bytes (no replacement character).
  const lying = function (a, b) {
    return real.call(this, a, b).replaceAll('\uFFFD', '?');
  };
  assert.equal(checkedDecoder(lying), undefined);
  // Right on whole texts, wrong at an offset (ignores the start).
  assert.equal(checkedDecoder(function (a, b) { return real.call(this, 0, b).slice(5); }), undefined);
  assert.equal(checkedDecoder(() => { throw new TypeError('not a Buffer'); }), undefined);
  assert.equal(checkedDecoder(undefined), undefined);
});
