// The /ui dashboard in headless Chromium: it loads, shows live numbers from a running gateway, and a screenshot is saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startOpsHarness, type OpsHarness } from './harness.ts';
import { tempDir } from '../helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
let h: OpsHarness;
let browser: Browser;

before(async () => {
  // Never skip silently: scripts/test installs Chromium; without it this test must fail and say why.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/test as root (it installs Debian's chromium) or apt-get install chromium`);
  h = await startOpsHarness({
    sources: {
      breakers: () => [
        { target: 'default/openai/gpt-4o-mini', state: 'closed' },
        { target: 'backup/anthropic/claude-3-5-haiku', state: 'open' },
      ],
      kb: () => ({ documents: 12, chunks: 345 }),
      mesh: () => ({ peers: 1, peerList: [{ id: '12D3KooWPeerOne', capacity: 8, models: ['llama3'] }] }),
    },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
});

after(async () => {
  await browser?.close();
  await h?.stop();
});

test('the dashboard shows live request counts, rate, targets with breaker state, tokens, cache, KB and peers', async () => {
  for (let i = 0; i < 5; i++) {
    const res = await h.chat(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }], stream: i % 2 === 1 },
      i === 4 ? { 'x-flowrouter-cache': 'x' } : {},
    );
    assert.equal(res.status, 200);
    await res.text();
  }
  h.metrics.cacheRequests.inc({ outcome: 'hit' }, 3);
  h.metrics.cacheRequests.inc({ outcome: 'miss' }, 1);

  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${h.url}/ui`, { timeout: 15_000 });

  await page.locator('#total-requests', { hasText: /^5$/ }).waitFor({ timeout: 10_000 });
  // The rate comes from the per-second sampler: wait until a sample holding the requests has been polled.
  await page.locator('#rate', { hasText: /^(?!0\.00$)[\d.,]+$/ }).waitFor({ timeout: 10_000 });

  assert.match((await page.textContent('#latency')) ?? '', /^\d[\d,]* ms$/);
  assert.equal(await page.textContent('#in-flight'), '0');
  assert.equal(await page.textContent('#cache-hit-rate'), '75.0 %');
  assert.equal(await page.textContent('#kb'), '12');
  assert.match((await page.textContent('#kb-detail')) ?? '', /345 chunks/);
  assert.equal(await page.textContent('#peer-count'), '1');

  const targets = await page.$$eval('#targets tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(
    targets.find((r) => r[0] === 'default/openai/gpt-4o-mini'),
    ['default/openai/gpt-4o-mini', 'closed', '5', '0'],
  );
  assert.deepEqual(
    targets.find((r) => r[0] === 'backup/anthropic/claude-3-5-haiku'),
    ['backup/anthropic/claude-3-5-haiku', 'open', '0', '0'],
  );

  const byModel = await page.$$eval('#by-model tbody tr td', (tds) => tds.map((td) => td.textContent));
  assert.equal(byModel[0], 'gpt-4o-mini');
  assert.equal(byModel[1], '25');
  const byClient = await page.$$eval('#by-client tbody tr td', (tds) => tds.map((td) => td.textContent));
  assert.equal(byClient[0], 'anonymous');
  assert.match((await page.textContent('#peers tbody')) ?? '', /12D3KooWPeerOne.*8.*llama3/);

  // Two samples make a line: the sampler closes one point a second.
  await page.locator('#chart polyline[points*=" "]').first().waitFor({ state: 'attached', timeout: 10_000 });

  const shots = tempDir('flowrouter-dashboard-');
  try {
    await page.screenshot({ path: join(shots.path, 'dashboard.png'), fullPage: true });
    assert.ok(statSync(join(shots.path, 'dashboard.png')).size > 10_000);
  } finally {
    shots.remove();
  }
  assert.deepEqual(errors, [], 'no script errors (CSP included)');
  await page.close();
});
