#!/usr/bin/env node
// Loads the asynq dashboard in Debian's headless Chromium and reports, as one
// JSON object on stdout, what a person would see: the image_id of completed
// upload tasks and the error of archived ones, with a screenshot of each page.
//
// Usage: node script.js <dashboard-url> [--queue NAME] [--out DIR]
//                       [--forbid TEXT]... [--user NAME]
// The password for --user comes from DASHBOARD_PASSWORD. CHROMIUM overrides
// the browser path (default /usr/bin/chromium). Exit status 0 means both
// pages were read; the caller asserts on the values.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

function parseArgs(argv) {
  const opts = { queue: 'default', out: process.cwd(), forbid: [], user: '' };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--queue') opts.queue = next();
    else if (a === '--out') opts.out = next();
    else if (a === '--forbid') opts.forbid.push(next());
    else if (a === '--user') opts.user = next();
    else if (a.startsWith('--')) throw new Error(`unknown flag ${a}`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new Error('usage: node script.js <dashboard-url> [--queue NAME] [--out DIR] [--forbid TEXT] [--user NAME]');
  opts.url = rest[0].endsWith('/') ? rest[0] : rest[0] + '/';
  return opts;
}

const TIMEOUT_MS = 60000;

async function rowsOf(page) {
  return page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' ').trim()));
}

// visit opens one task list and waits until its table shows a row that
// matches want (a RegExp on the row text).
async function visit(page, opts, status, want) {
  const url = `${opts.url}queues/${encodeURIComponent(opts.queue)}?status=${status}`;
  await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await page.waitForFunction(
    (src) => {
      const re = new RegExp(src);
      return [...document.querySelectorAll('table tbody tr')].some((tr) => re.test(tr.innerText));
    },
    want.source,
    { timeout: TIMEOUT_MS, polling: 250 },
  );
  // Let the page use the whole window width, so that the screenshot shows
  // every column of the table (result, last error), not only the ones that
  // fit the UI's default maximum width. Only the layout changes.
  await page.addStyleTag({ content: '.MuiContainer-root { max-width: none !important; }' });
  const shot = path.join(opts.out, `dashboard-${status}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  const text = await page.evaluate(() => document.body.innerText);
  return { url, rows: await rowsOf(page), text, screenshot: shot };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opts.out, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-chromium-'));
  const consoleErrors = [];
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      viewport: { width: 2000, height: 1100 },
      httpCredentials: opts.user ? { username: opts.user, password: process.env.DASHBOARD_PASSWORD || '' } : undefined,
      timeout: TIMEOUT_MS,
    });
    // The page may only talk to the dashboard: asynqmon's UI also asks for
    // web fonts from the internet, which a test must not reach for.
    const origin = new URL(opts.url).origin;
    const blocked = [];
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin + '/') || u.startsWith('data:')) return route.continue();
      blocked.push(u);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

    await page.goto(opts.url, { waitUntil: 'load', timeout: TIMEOUT_MS });
    await page.getByText(opts.queue, { exact: true }).first().waitFor({ timeout: TIMEOUT_MS });
    const title = await page.title();
    const overviewShot = path.join(opts.out, 'dashboard-queues.png');
    await page.screenshot({ path: overviewShot, fullPage: true });
    const overviewText = await page.evaluate(() => document.body.innerText);

    const completed = await visit(page, opts, 'completed', /"image_id"/);
    const imageIDs = [...completed.text.matchAll(/"image_id":\s*"([^"]+)"/g)].map((m) => m[1]);

    // Open the completed task as a person would, by clicking its row: the
    // details page shows the whole result.
    await page.locator('table tbody tr', { hasText: 'image_id' }).first().click();
    await page.waitForFunction(() => /\/tasks\//.test(location.pathname) && document.body.innerText.includes('image_id'),
      null, { timeout: TIMEOUT_MS, polling: 250 });
    const detailShot = path.join(opts.out, 'dashboard-completed-task.png');
    await page.screenshot({ path: detailShot, fullPage: true });
    const detailText = await page.evaluate(() => document.body.innerText);
    const detailIDs = [...detailText.matchAll(/"image_id":\s*"([^"]+)"/g)].map((m) => m[1]);
    const detailURL = page.url();
    const archived = await visit(page, opts, 'archived', /\S/);

    const seen = [overviewText, completed.text, detailText, archived.text].join('\n');
    const leaks = opts.forbid.filter((s) => s && seen.includes(s));
    const report = {
      ok: imageIDs.length > 0 && detailIDs.length > 0 && archived.rows.length > 0,
      title,
      queue: opts.queue,
      completed: { url: completed.url, image_ids: imageIDs, rows: completed.rows },
      completed_task: { url: detailURL, image_ids: detailIDs },
      archived: { url: archived.url, rows: archived.rows },
      screenshots: [overviewShot, completed.screenshot, detailShot, archived.screenshot],
      leaks,
      blocked_requests: blocked,
      console_errors: consoleErrors,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.stack ? err.stack : err) }) + '\n');
  process.exitCode = 1;
});
