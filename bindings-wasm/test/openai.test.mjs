// The openai npm package on pg.fetch, against the emulator: models, chat, streamed chat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PolarGrid } from '../npm/index.js';
import { importDev, startEmulator } from '../support/emulator.mjs';

const { default: OpenAI } = await importDev('openai');
let emu, pg, openai;
before(async () => {
  emu = await startEmulator();
  pg = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: emu.info });
  // maxRetries 0: the core already retried what can be retried.
  openai = new OpenAI({ apiKey: 'unused', baseURL: pg.baseURL, fetch: pg.fetch, maxRetries: 0 });
});
after(async () => {
  pg.close();
  await emu.stop();
});

test('openai_models_list_through_pg_fetch_lists_the_edge_models', async () => {
  const models = await openai.models.list();
  assert.ok(models.data.some((m) => m.id === 'llama-3.1-8b'));
  const edge = await emu.log({ role: 'edge', path: '/v1/models' });
  assert.ok(edge.length >= 1);
  assert.ok(edge.every((e) => e.credential === 'jwt'), 'the edge got the session JWT, never "Bearer unused"');
});

test('openai_chat_completion_through_pg_fetch_answers', async () => {
  const chat = await openai.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(chat.choices[0].message.content, /You said: hi/);
});

test('openai_streamed_chat_through_pg_fetch_streams_to_the_end', async () => {
  const stream = await openai.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'stream me' }], stream: true });
  let text = '';
  let chunks = 0;
  for await (const c of stream) {
    chunks += 1;
    text += c.choices[0]?.delta?.content ?? '';
  }
  assert.ok(chunks > 1, 'more than one SSE chunk');
  assert.match(text, /You said: stream me/);
});

test('openai_chat_model_becomes_the_routing_hint', async () => {
  await emu.admin('/admin/log/clear', {});
  const other = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: emu.info });
  const client = new OpenAI({ apiKey: 'unused', baseURL: other.baseURL, fetch: other.fetch });
  await client.chat.completions.create({ model: 'qwen-2.5-7b', messages: [{ role: 'user', content: 'hi' }] });
  other.close();
  const routes = await emu.log({ role: 'autorouter' });
  assert.deepEqual(routes.map((e) => e.query), ['model=qwen-2.5-7b']);
});

// The core reads the hint (polargrid_core::model_hint) from the body as it is sent: bytes
// route as a string does; a model name longer than the core takes, or a body that is not a
// JSON object (a BOM first), routes with no model (JSON.parse in JS would have taken some).
test('body_bytes_route_by_their_model_and_bodies_the_core_refuses_route_without_one', async () => {
  const cases = [
    [new TextEncoder().encode('{"model":"qwen-2.5-7b","messages":[]}'), 'model=qwen-2.5-7b'],
    [new TextEncoder().encode('{"model":"qwen-2.5-7b"}').buffer, 'model=qwen-2.5-7b'],
    [new DataView(new TextEncoder().encode(' {"model":"qwen-2.5-7b"}').buffer), 'model=qwen-2.5-7b'],
    [JSON.stringify({ model: 'm'.repeat(300), messages: [] }), null],
    ['\uFEFF{"model":"qwen-2.5-7b"}', null],
    [JSON.stringify({ model: 'é'.repeat(200) }), null], // 200 UTF-16 units, 400 bytes
  ];
  for (const [body, query] of cases) {
    await emu.admin('/admin/log/clear', {});
    const other = await PolarGrid.connect({ apiKey: emu.info.keys.read_write, endpoints: emu.info });
    await other.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => {});
    other.close();
    const routes = await emu.log({ role: 'autorouter' });
    assert.deepEqual(routes.map((e) => e.query ?? null), [query], `body ${String(body).slice(0, 40)}`);
  }
});

test('openai_error_status_surfaces_as_the_classified_error', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama-3.1-8b', messages: 'not a list' }),
    (e) => {
      const pgErr = e.cause;
      assert.equal(pgErr?.name, 'PolarGridError', `openai wraps the rejection: ${e}`);
      assert.equal(pgErr.kind, 'validation');
      assert.equal(pgErr.retryable, false);
      return true;
    },
  );
});
