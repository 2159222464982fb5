// The example page: handoff (the backend mints the session), one session for all tabs
// (localStorage), a chat completion streamed into the page as it arrives.
import { PolarGrid } from '/polargrid/browser/index.js';

const $ = (id) => document.getElementById(id);
const { endpoints } = await (await fetch('/config.json')).json();

const pg = await PolarGrid.connect({
  // null against the real service; the emulator's URLs when server.mjs was started with it
  ...(endpoints ? { endpoints } : {}),
  getSession: async () => {
    const r = await fetch('/session', { method: 'POST' });
    if (!r.ok) throw new Error(`the backend could not mint a session (${r.status})`);
    return r.json();
  },
  storage: 'localStorage',
  onSession: (s) => {
    $('expiry').textContent = s.expiresAt ? new Date(s.expiresAt).toLocaleTimeString() : 'none';
  },
});
pg.on('region', (r) => ($('region').textContent = `${r.region} (${r.reason})`));
$('status').textContent = 'ready';
$('send').disabled = false;

$('ask').addEventListener('submit', async (e) => {
  e.preventDefault();
  const reply = $('reply');
  reply.textContent = '';
  reply.dataset.events = '0';
  reply.dataset.reads = '0';
  $('status').textContent = 'streaming';
  try {
    const res = await pg.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'llama-3.1-8b',
        stream: true,
        messages: [{ role: 'user', content: $('prompt').value }],
      }),
    });
    $('region').textContent = pg.region ?? $('region').textContent;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reply.dataset.reads = String(Number(reply.dataset.reads ?? 0) + 1);
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = event.replace(/^data: ?/, '');
        if (data === '[DONE]') continue;
        const delta = JSON.parse(data).choices?.[0]?.delta?.content;
        if (delta) {
          reply.append(delta); // rendered as each event arrives
          reply.dataset.events = String(Number(reply.dataset.events) + 1);
        }
      }
    }
    $('status').textContent = 'done';
  } catch (err) {
    $('status').textContent = `failed: ${err.message}${err.fix ? ` — ${err.fix}` : ''}`;
  }
});
window.pg = pg; // for the console (and the browser tests)
window.exampleReady = true;
