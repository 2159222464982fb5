// The browser adapter of the conformance runner (tests/conformance/PROTOCOL.md): JSON lines
// on stdin/stdout here, each command carried out inside a page in headless Chromium by
// pages/adapter-page.js over the package's browser entry. This process only relays.
import { createInterface } from 'node:readline';
import { launch } from './lib.mjs';
import { startServer } from '../../examples/web/server.mjs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const log = (...a) => console.error('[browser adapter]', ...a);

let ready = null; // { page, browser, web } once the page is up
function start() {
  return (ready ??= (async () => {
    const web = await startServer({ apiKey: undefined, roots: { '/pages/': join(ROOT, 'tests/browser/pages') } });
    const browser = await launch();
    const page = await browser.page(`${web.url}/pages/adapter.html`);
    page.on('console', (m) => log('page:', m.text()));
    return { page, browser, web };
  })());
}

async function shutdown(code) {
  if (ready) {
    const r = await ready.catch(() => null);
    await r?.browser.close().catch(() => {});
    await r?.web.close().catch(() => {});
  }
  process.exit(code);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
let closing = false;
lines.on('line', (line) => {
  queue = queue.then(async () => {
    if (closing) return;
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return out({ id: null, ok: false, error: 'not a JSON line' });
    }
    const id = Number.isInteger(req?.id) ? req.id : null;
    if (typeof req !== 'object' || req === null || typeof req.cmd !== 'string') return out({ id, ok: false, error: 'no cmd' });
    if (req.cmd === 'close') {
      closing = true;
      out({ id, ok: true });
      return shutdown(0);
    }
    try {
      const { page } = await start();
      const answer = await page.evaluate((r) => window.adapter.handle(r), req);
      out({ id, ...answer });
    } catch (e) {
      log(req.cmd, 'failed:', e?.message ?? e);
      out({ id, ok: false, error: String(e?.message ?? e).split('\n')[0] });
    }
  });
});
lines.on('close', () => queue.then(() => shutdown(0)));
