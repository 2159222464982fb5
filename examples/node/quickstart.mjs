// The Node quickstart: an authenticated, routed call in three lines, a streamed chat, and a
// classified error. Without POLARGRID_API_KEY it starts the emulator (no account needed;
// `cargo build -p polargrid-emulator` first, or it falls back to `cargo run`); with it, it
// talks to the real service.
//   cd examples/node && npm install && node quickstart.mjs      (after `make npm`)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PolarGrid, PolarGridError } from 'polargrid-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
let emulator = null;
let options = { apiKey: process.env.POLARGRID_API_KEY };
if (!options.apiKey) {
  const bin = `${root}target/debug/polargrid-emulator`;
  emulator = existsSync(bin)
    ? spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('cargo', ['run', '--quiet', '-p', 'polargrid-emulator'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const info = JSON.parse(await new Promise((r) => createInterface({ input: emulator.stdout }).once('line', r)));
  console.log('no POLARGRID_API_KEY: using the local emulator');
  options = { apiKey: info.keys.read_write, endpoints: info };
}

// 1. Connect (checks the options; no request yet) and call.
const pg = await PolarGrid.connect(options);
pg.on('session', (s) => console.log(`session ${s.reason}: valid until ${new Date(s.expiresAt).toISOString()}`));
pg.on('region', (r) => console.log(`region ${r.region} (${r.reason})`));
const models = await (await pg.fetch('/v1/models')).json();
console.log('models:', models.data.map((m) => m.id).join(', '));

// 2. A streamed chat: the Response is the real one, its SSE body untouched.
const model = models.data[0].id;
const res = await pg.fetch('/v1/chat/completions', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Say hello from the edge.' }] }),
});
let text = '';
for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
  for (const line of chunk.split('\n')) {
    if (line.startsWith('data: {')) text += JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '';
  }
}
console.log(`streamed from ${pg.regionOf(res)}: ${text}`);

// 3. Failures arrive classified, with a fix and never a secret.
try {
  await pg.fetch('/v1/no-such-endpoint');
} catch (e) {
  if (!(e instanceof PolarGridError)) throw e;
  console.log(`error ${e.kind} (HTTP ${e.status}, retryable ${e.retryable}): ${e.cause}. Fix: ${e.fix}`);
}

pg.close();
emulator?.stdin.end();
