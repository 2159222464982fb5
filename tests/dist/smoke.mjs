// The installed npm tarball against the emulator (make dist-check), from a fresh Node project:
// node smoke.mjs VERSION, with POLARGRID_DIST_ENDPOINTS = the emulator's start-up JSON line.
// A handoff client (the browser shape: no key here, the backend mints the session) and a
// session client, as `import 'polargrid-core'` resolves for users.
import { readFileSync } from 'node:fs';
import { PolarGrid, PolarGridError } from 'polargrid-core';

const want = process.argv[2];
const info = JSON.parse(process.env.POLARGRID_DIST_ENDPOINTS);
let failed = 0;
let passed = 0;
const check = (name, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  ok ? passed++ : failed++;
};

// (the package's exports map has no ./package.json: read the installed file)
const pkg = JSON.parse(readFileSync(new URL('node_modules/polargrid-core/package.json', import.meta.url)));
check('version', pkg.version === want, pkg.version);

// Handoff: the app's backend mints a session with the key; the client never sees the key.
const grant = await (await fetch(`${info.auth}/v1/auth/session`, {
  method: 'POST', headers: { authorization: `Bearer ${info.keys.read_write}` },
})).text();
const handoff = await PolarGrid.connect({ mode: 'handoff', endpoints: info });
handoff.handOver(grant);
const models = await handoff.fetch('/v1/models');
check('handoff call', models.status === 200, `HTTP ${models.status}`);
const body = await models.json();
check('handoff answer', Array.isArray(body.data) && body.data.length > 0, `${body.data.length} models`);
handoff.close();

const pg = await PolarGrid.connect({ apiKey: info.keys.read_write, endpoints: info });
const chat = await pg.fetch('/v1/chat/completions', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
});
check('session call', chat.status === 200, `HTTP ${chat.status}`);
try {
  await pg.fetch('/v1/no-such-endpoint');
  check('a 404 rejects', false);
} catch (e) {
  check('a 404 rejects with a classified error', e instanceof PolarGridError && e.status === 404 && !!e.fix, e.kind);
}
pg.close();
console.log(`smoke: ${passed} of ${passed + failed} checks ok`);
process.exit(failed ? 1 : 0);
