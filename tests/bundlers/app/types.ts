// Type-checked with tsc --noEmit under moduleResolution bundler and node16, imported by
// the package's name as an app would (tests/bundlers/matrix.mjs). Never executed.
import { PolarGrid, PolarGridError, load, type ErrorKind, type WasmSource } from 'polargrid-core';
import { PolarGrid as BrowserGrid } from 'polargrid-core/browser';

export async function typecheck(bytes: Uint8Array, module: WebAssembly.Module): Promise<string> {
  const sources: WasmSource[] = ['/polargrid_wasm_bg.wasm', new URL('https://x/y.wasm'), bytes, module, fetch('/y.wasm')];
  await load(sources[0]);
  const pg = await PolarGrid.connect({ apiKey: 'pg_x', wasm: bytes });
  const web = await BrowserGrid.connect({ getSession: async () => ({}), storage: 'localStorage', wasm: '/a.wasm' });
  try {
    await web.fetch('/v1/models');
  } catch (e) {
    if (e instanceof PolarGridError) {
      const k: ErrorKind = e.kind;
      if (k === 'key_in_browser' || k === 'invalid_call' || k === 'cancelled' || k === 'closed') return e.fix;
      if (e.kind === 'invalid_config') return e.cause;
    }
  }
  pg.close();
  return web.tabs.stats.length.toString();
}
