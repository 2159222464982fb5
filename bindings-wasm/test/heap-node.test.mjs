// The wasm allocator reuses freed memory (support/heap.mjs): the build Node loads.
import { test } from 'node:test';
import { longLivedCore } from '../support/heap.mjs';

test('long_lived_node_core_reuses_freed_memory_and_never_grows_after_warm_up', () => longLivedCore('polargrid_wasm_node.wasm'));
