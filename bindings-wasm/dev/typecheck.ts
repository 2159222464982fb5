// Type-checks the package's index.d.ts as an app would use it (scripts/test-npm.sh runs
// `tsc --noEmit` on this file). Never executed.
import OpenAI from 'openai';
import { PolarGrid, PolarGridError, type SessionEvent } from '../npm/index.js';

export async function typecheck(): Promise<void> {
  const pg = await PolarGrid.connect({ apiKey: 'pg_x', region: 'toronto', onSession: (s: SessionEvent) => void s.snapshot });
  const res: Response = await pg.fetch('/v1/chat/completions', { method: 'POST', body: '{}' });
  const openai = new OpenAI({ apiKey: 'unused', baseURL: pg.baseURL, fetch: pg.fetch, maxRetries: 0 });
  await openai.models.list();
  const off: () => void = pg.on('region', (r) => void r.endpoint.length);
  off();
  pg.on('sessionEnded', ({ error }) => void error.fix);
  const restored = await PolarGrid.connect({ session: pg.snapshot() ?? undefined });
  restored.handOver({ session_token: 'x' });
  try {
    await pg.fetch(new URL(`${pg.baseURL}/models`));
  } catch (e) {
    if (e instanceof PolarGridError) {
      const k: string = e.kind;
      const r: number | null = e.retryAfterMs;
      void [k, r, e.cause.length, e.requestId, res.status, pg.regionOf(res), pg.status];
    }
  }
  pg.close();
}
