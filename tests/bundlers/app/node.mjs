// Node, ESM: the package by its name, a key (session mode), a call and a streamed chat
// against the emulator whose start-up JSON is argv[2].
import { PolarGrid } from 'polargrid-core';

const endpoints = JSON.parse(process.argv[2]);
const pg = await PolarGrid.connect({ apiKey: endpoints.keys.read_write, endpoints });
const models = await pg.fetch('/v1/models');
const model = (await models.json()).data[0].id;
const chat = await pg.fetch('/v1/chat/completions', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
});
let deltas = 0;
let done = false;
let buf = '';
for await (const chunk of chat.body.pipeThrough(new TextDecoderStream())) {
  buf += chunk;
  const lines = buf.split('\n');
  buf = lines.pop(); // a line the next chunk ends
  for (const line of lines) {
    if (line === 'data: [DONE]') done = true;
    else if (line.startsWith('data: {') && JSON.parse(line.slice(6)).choices[0]?.delta?.content) deltas++;
  }
}
const status = pg.status;
pg.close();
console.log(JSON.stringify({ ok: true, status, models: models.status, chat: chat.status, deltas, done }));
