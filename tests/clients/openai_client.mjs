// The `openai` npm package, unchanged, with baseURL at an emulator edge and the pg_ key in
// direct mode: models, chat, streamed chat.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const modules = process.env.NODE_PATH;
const require = createRequire(path.join(modules, 'noop.js'));
const OpenAI = require('openai').default ?? require('openai');
const { version } = JSON.parse(readFileSync(path.join(modules, 'openai', 'package.json'), 'utf8'));

const info = JSON.parse(process.env.PG_EMULATOR);
const key = info.keys.read_write;
const edge = info.regions[0].url;

function check(cond, what) {
  if (!cond) { console.error(`FAILED: ${what}`); process.exit(1); }
  console.log(`  ok: ${what}`);
}

async function logCount(match) {
  const { entries } = await (await fetch(`${info.admin}/admin/log`)).json();
  return entries.filter((e) => Object.entries(match).every(([k, v]) => e[k] === v)).length;
}

console.log(`  openai (npm) ${version}`);
const client = new OpenAI({ baseURL: `${edge}/v1`, apiKey: key, maxRetries: 0 });
const ids = [];
for await (const m of client.models.list()) ids.push(m.id);
check(ids.length > 0, `models.list: ${ids}`);
const chat = await client.chat.completions.create({ model: ids[0], messages: [{ role: 'user', content: 'hi' }] });
check(chat.choices[0].message.content.startsWith('Hello') && chat.usage.total_tokens > 0, 'chat.completions.create');
const stream = await client.chat.completions.create({
  model: ids[0], messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
});
let text = ''; let n = 0; let last;
for await (const c of stream) { n += 1; last = c; text += c.choices[0]?.delta?.content ?? ''; }
check(text.startsWith('Hello') && last.usage != null, `streamed chat: ${n} chunks, usage last`);
check(await logCount({ role: 'edge', credential: 'key', status: 200 }) === 3, '3 edge calls with the key');
try {
  await new OpenAI({ baseURL: `${edge}/v1`, apiKey: `pg_${'x'.repeat(40)}`, maxRetries: 0 }).models.list();
  check(false, 'a bad key must fail');
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, 'bad key -> OpenAI.AuthenticationError (401)');
}
