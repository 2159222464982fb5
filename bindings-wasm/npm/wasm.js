// The wasm core of polargrid-core for JavaScript: loading it, and what crosses between the
// driver (index.js) and a core. One crossing per input: the driver writes the input's
// strings into the core's input buffer and passes their lengths; the core leaves what the
// input caused (requests to send, events) in one block in wasm memory, read here in place
// (its layout: bindings-wasm/src/block.rs).
import init, { Core, Options } from './polargrid_wasm.js';
import { PolarGridError } from './error.js';

export { Core, Options };

// Loading the wasm core. The literal `new URL('./polargrid_wasm_bg.wasm', import.meta.url)`
// is what bundlers (Vite, webpack, Parcel, Rollup) rewrite to the file they emit; Node reads
// the file through `process.getBuiltinModule`, which no browser bundler follows (a dynamic
// import of node:fs/promises here broke webpack and esbuild builds). Every failure is a
// PolarGridError of kind invalid_config whose fix names the cause.
// (`load`, index.js, calls `instantiate` once.)
let memory; // the wasm core's memory, once loaded

function loadError(cause, fix) {
  return new PolarGridError(['invalid_config', '', '0', '', '', cause, fix, '', '0', `polargrid-core could not load its wasm: ${cause}. Fix: ${fix}`]);
}

const PASS_URL = "or serve polargrid_wasm_bg.wasm (in the package's folder) yourself and pass its URL: PolarGrid.connect({ wasm: '/polargrid_wasm_bg.wasm', … })";

/** Fetches, compiles and instantiates the wasm core (see `load`, index.js). */
export async function instantiate(wasm) {
  let source = wasm;
  if (source === undefined) {
    let url;
    try {
      url = new URL('./polargrid_wasm_bg.wasm', import.meta.url);
    } catch {
      throw loadError(
        'import.meta.url is not a URL here, so the .wasm beside the package cannot be located (the package was bundled into a classic script, such as an esbuild iife)',
        `bundle it as an ES module (esbuild --format=esm, loaded with <script type="module">), ${PASS_URL}`,
      );
    }
    source = url.protocol === 'file:' ? await readBeside(url) : url;
  }
  let module;
  if (source instanceof WebAssembly.Module) module = source;
  else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) module = await compile(source, 'the given bytes');
  else module = await fromResponse(source);
  try {
    memory = (await init({ module_or_path: module })).memory;
  } catch (e) {
    throw loadError(`the .wasm does not fit this version of the package's JavaScript (${e?.message ?? e})`, 'serve the polargrid_wasm_bg.wasm of the same package version (clear caches that may hold an older one)');
  }
}

// Beside the package on disk (Node): the build optimised for speed when it is there (a
// bundle for Node may have copied only the other), else the one pages load. (Its URL is not
// written as `new URL('…', import.meta.url)`: bundlers would emit it into pages too.)
async function readBeside(url) {
  const fast = new URL(url.href.replace(/polargrid_wasm_bg\.wasm$/, 'polargrid_wasm_node.wasm'));
  try {
    return await globalThis.process.getBuiltinModule('node:fs').promises.readFile(fast);
  } catch {
    return readLocal(url);
  }
}

async function readLocal(url) {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  if (!fs) {
    throw loadError(
      `this runtime cannot read ${url.href} (it has no process.getBuiltinModule, which Node has from 20.16 and 22.3)`,
      "upgrade the runtime, or read the file yourself and pass its bytes: PolarGrid.connect({ wasm: bytes, … })",
    );
  }
  try {
    return await fs.promises.readFile(url);
  } catch (e) {
    throw loadError(`cannot read ${url.href} (${e?.code ?? e?.message ?? e})`, 'reinstall polargrid-core: its polargrid_wasm_bg.wasm is missing or unreadable');
  }
}

async function fromResponse(source) {
  const byUrl = typeof source === 'string' || source instanceof URL;
  if (byUrl && String(source).startsWith('file:')) return compile(await readLocal(new URL(source)), String(source));
  const what = byUrl ? String(source) : typeof Request === 'function' && source instanceof Request ? source.url : 'the .wasm';
  let res;
  // A page's CSP blocking the fetch fails it like a network error; the page is told apart.
  let violation = null;
  const onViolation = (ev) => (violation ??= ev);
  globalThis.addEventListener?.('securitypolicyviolation', onViolation);
  try {
    res = await (byUrl || what !== 'the .wasm' ? fetch(source) : source);
  } catch (e) {
    await new Promise((r) => setTimeout(r, 0)); // the report is a task of its own
    if (violation?.effectiveDirective === 'connect-src') {
      let origin = what;
      try {
        origin = new URL(what, globalThis.location?.href).origin;
      } catch {}
      throw loadError(
        `the page's Content-Security-Policy blocked fetching ${what} (connect-src does not allow it)`,
        `add ${origin} to connect-src (Content-Security-Policy: connect-src 'self' ${origin} …), ${PASS_URL}`,
      );
    }
    throw loadError(
      `fetching ${what} failed before any answer (${e?.message ?? e}): the network failed, or the page's Content-Security-Policy connect-src does not allow that URL`,
      `check that ${what} is served and that connect-src allows it, ${PASS_URL}`,
    );
  } finally {
    globalThis.removeEventListener?.('securitypolicyviolation', onViolation);
  }
  if (typeof Response !== 'function' || !(res instanceof Response)) {
    throw loadError(`options.wasm is a ${typeof source}, not a URL, Response, WebAssembly.Module or bytes`, "pass the .wasm's URL, a Response of it, its compiled WebAssembly.Module or its bytes");
  }
  const url = res.url || what;
  if (!res.ok) {
    const fix =
      res.status === 404
        ? `your bundler did not emit polargrid_wasm_bg.wasm next to the script (esbuild does not: copy node_modules/polargrid-core/polargrid_wasm_bg.wasm into the output folder), ${PASS_URL}`
        : res.status === 403
          ? `the server refused to serve it; with Vite's dev server the package is outside server.fs.allow (as when installed from a folder, a symlink): install the packed tarball or add the folder to server.fs.allow, ${PASS_URL}`
          : `serve polargrid_wasm_bg.wasm at that URL, ${PASS_URL}`;
    throw loadError(`fetching ${url} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, fix);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    // Compiled while it downloads.
    return compile(res, url, () => WebAssembly.compileStreaming(res));
  }
  let bytes;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw loadError(`reading ${url} failed (${e?.message ?? e})`, `check the network, ${PASS_URL}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    const head = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/\s+/g, ' ');
    throw loadError(
      `${url} is not WebAssembly: the server answered ${type || 'with no content-type'}, starting ${JSON.stringify(head)} (a page served in place of a missing file?)`,
      `make the bundler emit polargrid_wasm_bg.wasm (esbuild does not: copy node_modules/polargrid-core/polargrid_wasm_bg.wasm into the output folder), ${PASS_URL}`,
    );
  }
  if (type !== 'application/wasm') {
    console.warn(`polargrid-core: ${url} is served as ${type || 'no content-type'}, not application/wasm, so it is compiled only once downloaded (slower): serve .wasm files as application/wasm`);
  }
  return compile(bytes, url);
}

async function compile(source, what, streaming = () => WebAssembly.compile(source)) {
  try {
    return await streaming();
  } catch (e) {
    const text = String(e?.message ?? e);
    if (/unsafe-eval|Content.Security.Policy|CSP/i.test(text)) {
      throw loadError(
        `the page's Content-Security-Policy does not allow WebAssembly (${text})`,
        "add 'wasm-unsafe-eval' to script-src, e.g. Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'",
      );
    }
    throw loadError(`${what} is not a WebAssembly module this runtime can compile (${text})`, `serve the polargrid_wasm_bg.wasm of this package unchanged, ${PASS_URL}`);
  }
}

/** The wasm memory's size in bytes (for the test that it stops growing). */
export function memoryBytes() {
  return memory.buffer.byteLength;
}

// Views over the wasm memory, remade when it grew (the old buffer is then detached: empty).
let u8 = new Uint8Array(0);
let dv = null;
function views() {
  if (u8.length === 0) {
    u8 = new Uint8Array(memory.buffer);
    dv = new DataView(memory.buffer);
  }
}
const utf8 = new TextDecoder();

/**
 * `slice` (Node's `Buffer.prototype.utf8Slice`, which decodes a `Uint8Array`'s bytes between
 * two bounds: no view per text, ~58 instead of ~97 ns for an X-Request-ID, one per request)
 * if it decodes a sample exactly as `TextDecoder` does — ASCII, 2-, 3- and 4-byte sequences,
 * invalid bytes, a surrogate's encoding, a sequence cut by a bound, at offsets into wasm-like
 * memory — and throws nothing; else undefined. It is no documented API, and runtimes that
 * say they are Node (Bun, Deno) may define it otherwise.
 */
export function checkedDecoder(slice) {
  if (typeof slice !== 'function') return undefined;
  try {
    const bytes = [0x61, 0x62, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0x7a];
    const mem = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
    mem.set(bytes, 5);
    for (const [a, b] of [[5, 5 + bytes.length], [6, 4 + bytes.length], [5, 8], [8, 12], [9, 9]]) {
      if (slice.call(mem, a, b) !== utf8.decode(mem.subarray(a, b))) return undefined;
    }
    return slice;
  } catch {
    return undefined;
  }
}

// Node's own decoder when it passes the check, else TextDecoder (pages).
const utf8Slice = checkedDecoder(globalThis.process?.versions?.node ? globalThis.Buffer?.prototype?.utf8Slice : undefined);
const encoder = new TextEncoder();
const METHOD_NAMES = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'];
// Core::info_ptr's numbers, as byte offsets.
const OUT = 0;
const OUT_LEN = 8;
const TIMEOUT = 16;
const OPEN = 24;
const INPUT = 32;
const INPUT_CAP = 40;
const NONE = 0xffffffff;

// Where `Link#read` is in the block (one read at a time: it calls nothing outside).
let at = 0;

// The text at `at` (a length, then UTF-8), or null for "none".
function text() {
  const n = dv.getUint32(at, true);
  at += 4;
  if (n === NONE) return null;
  const s = n === 0 ? '' : utf8Slice ? utf8Slice.call(u8, at, at + n) : utf8.decode(u8.subarray(at, at + n));
  at += n;
  return s;
}

/** One core's side of the crossing: its numbers, its input buffer, its block. */
export class Link {
  constructor(core) {
    this.core = core;
    this.info = core.info_ptr();
    this.url = ''; // the last request's URL (the block has one only when it changed)
    this.headers = { 'x-request-id': '' }; // the last request's headers, names lowercased, and an X-Request-ID slot
  }

  /** The core's next deadline (Unix ms, -1 for none) as of its last input. */
  timeout() {
    views();
    return dv.getFloat64(this.info + TIMEOUT, true);
  }

  /** The calls that have not ended, as of the last input. */
  openCalls() {
    views();
    return dv.getFloat64(this.info + OPEN, true);
  }

  /** Writes `s` (a string, or bytes) into the input buffer at byte `at`; returns its length
   * in bytes. The input's strings are written one after the other, then the input made. */
  put(at, s) {
    views();
    const text = typeof s === 'string';
    const most = text ? s.length * 3 : s.length;
    if (at + most > dv.getFloat64(this.info + INPUT_CAP, true)) {
      this.core.reserve(at + most);
      views();
    }
    const p = dv.getFloat64(this.info + INPUT, true) + at;
    if (!text) {
      u8.set(s, p);
      return s.length;
    }
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return i + encoder.encodeInto(s.slice(i), u8.subarray(p + i, p + most)).written;
      u8[p + i] = c;
    }
    return n;
  }

  /** The block the last input left, as records: requests `{ request: true, id, call,
   * connectMs, limit, method, purpose, url, rid, body }` (`limit`: the most bytes of a failed
   * answer's body the core reads) and events `{ request: false, kind, call,
   * id, text }` (`text`: undefined for kinds without one, null for "no region"). Read it
   * before the next input: that one writes over it. */
  read() {
    views();
    at = dv.getFloat64(this.info + OUT, true);
    const end = at + dv.getFloat64(this.info + OUT_LEN, true);
    const out = [];
    while (at < end) {
      const tag = u8[at];
      if (tag === 1) {
        const method = METHOD_NAMES[u8[at + 1]];
        const flags = u8[at + 2];
        const id = dv.getFloat64(at + 3, true);
        const call = dv.getFloat64(at + 11, true);
        const connectMs = dv.getFloat64(at + 19, true);
        const limit = dv.getUint32(at + 27, true);
        at += 31;
        const purpose = flags & 1 ? text() : 'call';
        if (flags & 2) this.url = text();
        const rid = text();
        if (flags & 4) {
          const parts = text().split('\n');
          const fixed = {};
          for (let i = 0; i + 1 < parts.length; i += 2) fixed[parts[i].toLowerCase()] = parts[i + 1];
          // With a slot for the request id: a request's headers are a copy of this object,
          // which V8 makes ~20x faster than building one key by key or spreading and adding.
          this.headers = { ...fixed, 'x-request-id': '' };
        }
        const body = flags & 8 ? text() : undefined;
        out.push({ request: true, id, call, connectMs, limit, method, purpose, url: this.url, rid, headers: this.headers, body });
      } else {
        const kind = u8[at + 1];
        const call = dv.getFloat64(at + 2, true);
        const id = dv.getFloat64(at + 10, true);
        at += 18;
        const t = kind === 2 || kind === 3 || (kind >= 6 && kind <= 8) ? text() : undefined;
        out.push({ request: false, kind, call, id, text: t });
      }
    }
    return out;
  }
}

// The core's call and request ids (whole numbers from 1) → the driver's records: an
// open-addressed table over two arrays, no allocation once grown. (With Maps, their
// deletes were the driver's costliest lines in Node 20's profile: a few entries, each added
// and deleted once, and the Map's table rebuilt every few calls.)
export class Ids {
  #keys = new Float64Array(8); // 0: a free slot
  #vals = new Array(8).fill(undefined);
  #mask = 7;
  #size = 0;

  #find(id) {
    const keys = this.#keys;
    for (let i = id & this.#mask; ; i = (i + 1) & this.#mask) {
      const k = keys[i];
      if (k === id || k === 0) return i;
    }
  }

  get(id) {
    return this.#vals[this.#find(id)];
  }

  has(id) {
    return id !== 0 && this.#keys[this.#find(id)] === id;
  }

  set(id, v) {
    const i = this.#find(id);
    if (this.#keys[i] === 0) {
      if (2 * (this.#size + 1) > this.#keys.length) {
        this.#grow();
        return this.set(id, v);
      }
      this.#keys[i] = id;
      this.#size++;
    }
    this.#vals[i] = v;
  }

  delete(id) {
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    let i = this.#find(id);
    if (keys[i] === 0) return;
    // Backward shift: a later entry whose home slot is not in (i, j] moves into the hole.
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = keys[j] & mask;
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        keys[i] = keys[j];
        vals[i] = vals[j];
        i = j;
      }
    }
    keys[i] = 0;
    vals[i] = undefined;
    this.#size--;
  }

  #grow() {
    const keys = this.#keys;
    const vals = this.#vals;
    this.#keys = new Float64Array(keys.length * 2);
    this.#vals = new Array(keys.length * 2).fill(undefined);
    this.#mask = keys.length * 2 - 1;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i], vals[i]);
  }

  values() {
    return this.#vals.filter((v, i) => this.#keys[i] !== 0);
  }

  clear() {
    this.#keys.fill(0);
    this.#vals.fill(undefined);
    this.#size = 0;
  }
}
