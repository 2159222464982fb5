// A page that wakes from a long sleep sees the truth at once: `status` and `region` tick
// the core at now before answering (no timer fired while the device slept). The page's
// clock is moved (the driver's `now` option), nothing waits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startEmulator, startPages } from './lib.mjs';

let emu, web, browser;
before(async () => {
  emu = await startEmulator();
  web = await startPages(emu);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await web?.close();
  emu?.stop();
});

test('page_asleep_past_the_refresh_tokens_life_reads_status_ended_at_once', async () => {
  const p = await browser.page(`${web.url}/pages/sdk.html`);
  assert.equal(await p.evaluate(() => sdk.connect({ tabs: false })), 'active');
  assert.equal(await p.evaluate(() => sdk.call()), 200);
  const seen = await p.evaluate(() => {
    const before = pg.status;
    sdk.shift(40 * 86_400_000); // 40 days asleep: past the 30-day refresh token
    return { before, after: pg.status, region: pg.region };
  });
  assert.deepEqual(seen, { before: 'active', after: 'ended', region: 'yto-01' });
  await p.evaluate(() => sdk.close());
  await p.close();
});
