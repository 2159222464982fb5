// Compiled (never run) by scripts/test-browser.sh: the browser entry's types as an app uses them.
import { PolarGrid, PolarGridError } from '../../bindings-wasm/npm/browser/index.js';

export async function app(): Promise<void> {
  const pg: PolarGrid = await PolarGrid.connect({
    getSession: async () => (await fetch('/api/polargrid-session', { method: 'POST' })).json(),
    storage: { get: () => null, set: () => {}, remove: () => {} },
    lockTimeoutMs: 5000,
  });
  const r: Response = await pg.fetch('/v1/models');
  void r;
  const spent: number | undefined = pg.tabs.stats[0]?.totalMs;
  void spent;
  pg.close();
  // @ts-expect-error storage must be one of the named ones or an object with get/set/remove
  await PolarGrid.connect({ storage: 'indexedDB' });
  try {
    await PolarGrid.connect({ apiKey: 'pg_x' });
  } catch (e) {
    if (e instanceof PolarGridError) console.log(e.kind, e.fix);
  }
}
