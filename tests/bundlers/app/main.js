// The page every bundled app is built from (tests/bundlers/matrix.mjs): it imports the
// package by its name as an app would, connects in handoff mode (the backend at ?backend=
// mints the session), makes one call and streams a chat, and leaves the outcome in
// the console for the harness. ?wasm= passes the `wasm` option (the esbuild iife case).
import { PolarGrid, PolarGridError } from 'polargrid-core';

const q = new URLSearchParams(location.search);
const backend = q.get('backend');

async function main() {
  const { endpoints } = await (await fetch(`${backend}/config.json`)).json();
  const pg = await PolarGrid.connect({
    endpoints,
    getSession: async () => (await fetch(`${backend}/session`, { method: 'POST' })).json(),
    ...(q.get('wasm') ? { wasm: q.get('wasm') } : {}),
  });
  const models = await pg.fetch('/v1/models');
  const firstCallMs = performance.now(); // since navigation started
  // Where the time went: every request's start and end (ms since navigation), by file name.
  const timeline = performance.getEntriesByType('resource').map((e) => [e.name.replace(/^.*\/([^/?]*)(\?.*)?$/, '$1') || e.name, Math.round(e.startTime), Math.round(e.responseEnd)]);
  const model = (await models.json()).data[0].id;
  const chat = await pg.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
  });
  let text = '';
  let deltas = 0;
  let done = false;
  let buf = '';
  for await (const chunk of chat.body.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop(); // a line the next chunk ends
    for (const line of lines) {
      if (line === 'data: [DONE]') done = true;
      else if (line.startsWith('data: {')) {
        const d = JSON.parse(line.slice(6)).choices[0]?.delta?.content;
        if (d) (text += d), deltas++;
      }
    }
  }
  const status = pg.status;
  pg.close();
  return { ok: true, status, models: models.status, chat: chat.status, deltas, done, text, firstCallMs, timeline };
}

// Logged, not only stored: the harness reads the console (a strict CSP forbids its eval).
const report = (r) => console.log(`polargrid-result ${JSON.stringify((window.result = r))}`);
main().then(report, (e) =>
  report({ ok: false, polarGridError: e instanceof PolarGridError, name: e?.name, kind: e?.kind, message: String(e?.message ?? e), fix: e?.fix }),
);
