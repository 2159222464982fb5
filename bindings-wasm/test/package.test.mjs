// What the npm package ships: the files `npm pack` puts in the tarball, the error kinds its
// types name, and no Node module import where a browser bundler would follow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PKG = fileURLToPath(new URL('../npm/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('npm_pack_ships_the_readme_the_licences_the_types_and_the_wasm', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd: PKG, encoding: 'utf8' }));
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    'LICENSE-APACHE',
    'LICENSE-MIT',
    'README.md',
    'browser/index.d.ts',
    'browser/index.js',
    'browser/storage.js',
    'browser/tabs.js',
    'error.js',
    'index.d.ts',
    'index.js',
    'package.json',
    'polargrid_wasm.js',
    'polargrid_wasm_bg.wasm',
    'polargrid_wasm_node.wasm',
    'wasm.js',
  ]);
});

test('error_kind_type_lists_exactly_the_kinds_the_core_names', () => {
  const rust = readFileSync(`${ROOT}core/src/error.rs`, 'utf8');
  const names = rust.match(/pub const NAMES: \[&'static str; \d+\] = \[([^\]]*)\]/)[1].match(/"([a-z_]+)"/g).map((s) => s.slice(1, -1));
  const dts = readFileSync(`${PKG}index.d.ts`, 'utf8');
  const union = dts.match(/export type ErrorKind =([^;]*);/)[1].match(/'([a-z_]+)'/g).map((s) => s.slice(1, -1));
  assert.ok(names.length >= 18, 'NAMES parsed');
  assert.deepEqual([...union].sort(), [...names].sort());
});

test('no_packaged_javascript_imports_a_node_module_where_a_bundler_would_follow_it', () => {
  for (const f of ['index.js', 'wasm.js', 'error.js', 'polargrid_wasm.js', 'browser/index.js', 'browser/tabs.js', 'browser/storage.js']) {
    const src = readFileSync(`${PKG}${f}`, 'utf8');
    assert.doesNotMatch(src, /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](?:node:|fs\b|path\b|url\b)/, f);
  }
  // The literal bundlers rewrite into the emitted file's URL.
  assert.match(readFileSync(`${PKG}wasm.js`, 'utf8'), /new URL\('\.\/polargrid_wasm_bg\.wasm', import\.meta\.url\)/);
});
