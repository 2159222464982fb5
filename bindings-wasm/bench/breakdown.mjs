// Groups twiggy's `top --format csv` rows by where the code comes from. Inlining blurs the
// lines (core code inlined into an export is counted under the export), so the groups are
// approximate; `twiggy top` below them names the largest single items.
import { readFileSync } from 'node:fs';

const groups = [
  ['function names (kept only for this analysis)', /function names|custom section|producers|target_features/],
  ['data: strings, tables', /^data segment/],
  ['serde_json', /serde_json/],
  ['serde (derives, visitors)', /serde/],
  ['BTreeMap / BTreeSet', /btree|BTree/],
  ['core::fmt + number formatting', /fmt|Display|Debug|Formatter|flt2dec|dec2flt|float|zmij|itoa/],
  ['drop glue', /drop_in_place/],
  ['core: jwt + base64', /polargrid_core::jwt|base64/],
  ['core: session + snapshot', /polargrid_core::(session|snapshot)/],
  ['core: client + call', /polargrid_core::(client|call|ctx)/],
  ['core: route + url + config', /polargrid_core::(route|url|config)/],
  ['core: classify + errors + httpdate', /polargrid_core::(classify|error|httpdate)/],
  ['core: other', /polargrid_core/],
  ['allocator (talc + size classes, src/alloc.rs)', /talc|polargrid_wasm::alloc|dlmalloc|__rust_(alloc|dealloc|realloc)|__rdl/],
  ['exports (polargrid-wasm + core inlined into them)', /polargrid_wasm|^core_|^options_|multivalue shim|wbindgen|wasm_bindgen|^export /],
  ['alloc: Vec / String', /alloc::|raw_vec|String|Vec/],
  ['panics', /panic|unwrap_failed|expect_failed|bounds_check|slice_(start|end|index)/],
];
const sums = new Map(groups.map(([name]) => [name, 0]));
let other = 0;
let total = 0;
for (const line of readFileSync(process.argv[2], 'utf8').trim().split('\n').slice(1)) {
  const m = line.match(/^(.*),(\d+),[\d.]+,/);
  if (!m) continue;
  const [name, size] = [m[1].replace(/^"|"$/g, ''), Number(m[2])];
  total += size;
  const g = groups.find(([, re]) => re.test(name));
  if (g) sums.set(g[0], sums.get(g[0]) + size);
  else other += size;
}
sums.set('other (std, core::str, iterators, …)', other);
const names = sums.get(groups[0][0]);
console.log(`wasm code and data by origin (raw bytes after wasm-opt -Oz; ${total - names} without names):`);
for (const [name, size] of [...sums].sort((a, b) => b[1] - a[1])) {
  if (name === groups[0][0] || size === 0) continue;
  console.log(`  ${String(size).padStart(7)}  ${((size / (total - names)) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
