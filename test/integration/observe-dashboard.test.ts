import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { MigrationStatus } from '../../src/migrate/status.js';
import { withClient } from '../../src/pg/connect.js';
import { prepareRouting } from '../../src/routing/prepare-routing.js';
import { requestHold } from '../../src/sync/hold-request.js';
import { launchChromium } from '../support/browser.js';
import { CARVE_BIN, runCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';
import { metricValue, parseMetrics } from '../support/metrics-text.js';
import { promtool } from '../support/promtool.js';

/**
 * `carve serve` against a live `carve migrate --follow` in another process, driven in headless
 * Chromium: the page renders, its numbers equal `carve status --json`, the lag chart moves while
 * the apply is held, requests without the token are refused, an action needs confirmation, is
 * logged and cuts a service over for real (its steps on the page, then its phase on the page and in
 * the metrics); and no password of the plan (in the URL's userinfo or as ?password=) nor a role password
 * reaches any page, answer, event, metric or log line.
 */
const SOURCE_PASSWORD = 'Src-pw-4f9c1e77ab';
const TARGET_PASSWORD = 'Tgt-pw-b38d02c9ee';

interface Running {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [CARVE_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running: Running = { child, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout!.on('data', (d) => (running.stdout += d));
  child.stderr!.on('data', (d) => (running.stderr += d));
  running.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  return running;
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 15_000);
  await running.exited;
  clearTimeout(timer);
}

/** The password-protected login of a cluster, over TCP, for the plan's URLs. */
async function passwordRole(cluster: LocalCluster, role: string, password: string): Promise<void> {
  await withClient(cluster.url(), (c) =>
    c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`),
  );
  const hba = join(cluster.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
  await withClient(cluster.url(), (c) => c.query('SELECT pg_reload_conf()'));
}

let source: LocalCluster;
let work: string;
let secretsDir: string;
let planFile: string;
let migrate: Running;
let serve: Running;
let dashboardUrl: string;
let token: string;
let browser: { context: BrowserContext; close: () => Promise<void> } | undefined;
let page: Page;
let writing = true;
let itemsWritable = true;
let writer: Promise<void> = Promise.resolve();
/** Every body the page, the API, the event stream and the metrics sent, for the secrets check. */
const seen: string[] = [];

beforeAll(async () => {
  const [src, dst] = await Promise.all([
    useCluster({ name: 'obs-dash-src' }),
    useCluster({ name: 'obs-dash-dst' }),
  ]);
  source = src;
  await Promise.all([
    passwordRole(src, 'mono_admin', SOURCE_PASSWORD),
    passwordRole(dst, 'target_admin', TARGET_PASSWORD),
  ]);
  const adminUrl = await createDatabase(src, 'mono');
  await withClient(adminUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 4000) g;
             CREATE TABLE orders (id bigint PRIMARY KEY, item_id bigint, qty int);
             INSERT INTO orders SELECT g, g % 4000 + 1, g % 5 FROM generate_series(1, 1500) g;
             ANALYZE;`),
  );
  work = mkdtempSync(join(tmpdir(), 'carve-dash-'));
  secretsDir = join(work, 'secrets');
  planFile = join(work, 'plan.yaml');
  writeFileSync(
    planFile,
    stringify({
      name: 'dash',
      source: `postgres://mono_admin:${SOURCE_PASSWORD}@127.0.0.1:${src.port}/mono`,
      target: `postgres://target_admin@127.0.0.1:${dst.port}/postgres?password=${TARGET_PASSWORD}`,
      services: {
        catalog: { database: 'dash_catalog', tables: { items: {} } },
        sales: { database: 'dash_sales', tables: { orders: {} } },
      },
    }),
  );

  // Writes all along, so the stream has something to apply (bounded: stops with the test).
  let next = 100_000;
  writer = (async () => {
    while (writing && next < 130_000) {
      await withClient(adminUrl, async (c) => {
        // Once the page cut catalog over, its items refuse writes on the monolith (as they should).
        if (itemsWritable)
          await c.query(`INSERT INTO items VALUES ($1, 'live')`, [next]).catch(() => (itemsWritable = false));
        await c.query(`INSERT INTO orders VALUES ($1, 1, 1)`, [next]);
      });
      next++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  migrate = start([
    'migrate',
    '--plan',
    planFile,
    '--follow',
    '--secrets-dir',
    secretsDir,
    '--metrics-port',
    '0',
  ]);
  serve = start([
    'serve',
    '--plan',
    planFile,
    '--port',
    '0',
    '--secrets-dir',
    secretsDir,
    '--metrics-port',
    '0',
  ]);
  dashboardUrl = await waitFor(() => /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(serve.stderr)?.[1], {
    what: `carve serve to listen (stderr: ${serve.stderr})`,
    timeoutMs: 60_000,
  });
  token = readFileSync(join(secretsDir, 'serve.token'), 'utf8').trim();
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('response', async (response) => {
    if (response.url().includes('/api/events')) return;
    seen.push(await response.text().catch(() => ''));
  });
}, 120_000);

afterAll(async () => {
  writing = false;
  await writer.catch(() => undefined);
  await browser?.close();
  await Promise.all([stop(serve), stop(migrate)]);
});

const bearer = () => ({ authorization: `Bearer ${token}` });

async function statusJson(): Promise<MigrationStatus> {
  const run = await runCarve(['status', '--plan', planFile, '--json']);
  expect(run.code, run.stderr).toBe(0);
  seen.push(run.stdout);
  return JSON.parse(run.stdout);
}

async function field(name: string, attribute: 'text' | 'value' = 'value'): Promise<string | null> {
  const locator = page.locator(`[data-field="${name}"]`).first();
  return attribute === 'text' ? locator.textContent() : locator.getAttribute('data-value');
}

describe('carve serve', () => {
  it('keeps its token in a 0600 file and refuses every request without it', async () => {
    const file = join(secretsDir, 'serve.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(serve.stderr).toContain(file);
    expect(serve.stderr).not.toContain(token);

    // The browser without the token: refused, and told where the token is.
    const refused = await page.goto(dashboardUrl);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('needs its token');
    // A second server on the same port fails before anything else, naming host and port.
    const busy = await runCarve([
      'serve',
      '--plan',
      planFile,
      '--port',
      new URL(dashboardUrl).port,
      '--secrets-dir',
      secretsDir,
      '--json',
    ]);
    expect(busy.code).toBe(1);
    expect(JSON.parse(busy.stdout)).toMatchObject({
      code: 'OBSERVE_LISTEN_FAILED',
      details: { host: '127.0.0.1', errno: 'EADDRINUSE' },
    });
    seen.push(busy.stdout, busy.stderr);

    for (const path of ['', 'app.js', 'api/status', 'api/events', `?token=wrong-${token}`]) {
      const response = await fetch(`${dashboardUrl}${path}`);
      expect(response.status, path).toBe(401);
      seen.push(await response.text());
    }
    const wrong = await fetch(`${dashboardUrl}api/status`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const post = await fetch(`${dashboardUrl}api/actions/cutover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'catalog' }),
    });
    expect(post.status).toBe(401);
    // Another site's page cannot post with the token, nor reach the server under another name.
    const foreign = await fetch(`${dashboardUrl}api/actions/cutover`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ service: 'catalog' }),
    });
    expect(foreign.status).toBe(403);
    const ok = await fetch(`${dashboardUrl}api/status`, { headers: bearer() });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");
    seen.push(await ok.text());
    expect(serve.stderr).not.toContain('action cutover');
  });

  it('renders the live migration, with the numbers of carve status --json', async () => {
    await waitFor(
      async () =>
        (await statusJson()).phase === 'streaming' && /verify/.test(migrate.stdout + migrate.stderr),
      {
        what: 'migrate streaming after its verify',
        timeoutMs: 90_000,
      },
    );
    await page.goto(`${dashboardUrl}?token=${encodeURIComponent(token)}`);
    expect(page.url()).toBe(dashboardUrl); // the token left the address bar
    await page.waitForSelector('#tables tbody tr[data-key="dash_catalog/public.items"]');
    expect(await field('migration', 'text')).toBe('dash');

    // The page reads the databases every 2 s; once it has caught up with a status read, they agree.
    await waitFor(
      async () => {
        const status = await statusJson();
        const page = {
          phase: await field('phase'),
          rowsCopied: Number(await field('rows-copied')),
          estimated: Number(await field('rows-estimated')),
          chunks: Number(await field('chunks')),
          chunksDone: Number(await field('chunks-done')),
          verify: await field('verify'),
        };
        const expected = {
          phase: status.phase,
          rowsCopied: status.copy!.rowsCopied,
          estimated: status.copy!.estimatedRows,
          chunks: status.copy!.chunks,
          chunksDone: status.copy!.chunksDone,
          verify: String(status.verify!.ok),
        };
        if (JSON.stringify(page) !== JSON.stringify(expected)) return false;
        for (const route of status.copy!.routes) {
          const row = page_row(route.routeId);
          if (
            Number(await row.locator('[data-field="rows"]').getAttribute('data-value')) !== route.rowsCopied
          )
            return false;
          if (
            Number(await row.locator('[data-field="estimated"]').getAttribute('data-value')) !==
            route.estimatedRows
          )
            return false;
          if (
            (await row.locator('[data-field="chunks"]').getAttribute('data-value')) !==
            `${route.chunksDone}/${route.chunks}`
          )
            return false;
          // The formatted number is the same number.
          if (
            (await row.locator('[data-field="rows"]').textContent())!.replaceAll(',', '') !==
            String(route.rowsCopied)
          )
            return false;
        }
        const databases = await page_databases();
        return JSON.stringify(databases) === JSON.stringify(status.sync!.targets.map((t) => t.database));
      },
      { what: 'the page to show what carve status --json says', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(await page.locator('#services tbody tr').count()).toBe(2);
  });

  it('draws lag that rises while the apply is held and falls after', async () => {
    const { routing } = await prepareRouting(planFile);
    const lagOf = async () =>
      Number(
        await page
          .locator('#databases tr[data-key="dash_catalog"] [data-field="lag-seconds"]')
          .getAttribute('data-value'),
      );
    const pointsOf = () =>
      page.locator('#lag-chart polyline[data-database="dash_catalog"]').getAttribute('points');
    const hold = await requestHold(routing, { requestedBy: 'observe-dashboard test' });
    try {
      await hold.reached({ timeoutMs: 30_000 });
      const before = await pointsOf();
      await waitFor(async () => (await lagOf()) > 2, {
        what: 'lag above 2 s on the page while held',
        timeoutMs: 30_000,
      });
      expect(await pointsOf()).not.toBe(before);
      expect(Number(await page.locator('#lag-chart').getAttribute('data-max'))).toBeGreaterThan(2);
    } finally {
      await hold.release();
    }
    await waitFor(async () => (await lagOf()) < 1, {
      what: 'lag falling after the release',
      timeoutMs: 30_000,
    });
  });

  it('asks for confirmation, then cuts the service over through the engine, with its steps, logged', async () => {
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request.url());
    });
    const catalogPhase = () =>
      page.locator('#services tbody tr[data-key="catalog"] [data-field="phase"]').getAttribute('data-value');
    const button = page.locator('button[data-action="cutover"][data-service="catalog"]');
    await expect.poll(() => button.isEnabled()).toBe(true);
    expect(await catalogPhase()).toBe('streaming');
    expect(await page.locator('button[data-action="rollback"][data-service="catalog"]').isEnabled()).toBe(
      false,
    );
    await button.click();
    await expect.poll(() => page.locator('#confirm').isVisible()).toBe(true);
    expect(await page.locator('#confirm-text').textContent()).toContain('catalog');
    await page.locator('#confirm-cancel').click();
    await expect.poll(() => page.locator('#confirm').isVisible()).toBe(false);
    expect(posts).toEqual([]);
    expect(serve.stderr).not.toContain('action cutover');

    await button.click();
    await page.locator('#confirm-ok').click();
    await expect
      .poll(() => page.locator('#action-result').getAttribute('data-outcome'), { timeout: 90_000 })
      .not.toBe('running');
    const result = await page.locator('#action-result').textContent();
    expect(await page.locator('#action-result').getAttribute('data-outcome'), result!).toBe('ok');
    expect(result).toContain('service catalog cut over to dash_catalog');
    expect(posts).toEqual([`${dashboardUrl}api/actions/cutover`]);
    // The engine's steps reached the page while it ran (hub of the serve process → /api/events).
    const activity = await page.locator('#activity').textContent();
    for (const step of ['pre-checks', 'freeze', 'drain', 'verify', 'journal', 'switch'])
      expect(activity).toContain(`cutover: catalog: ${step} done`);
    expect(serve.stderr).toMatch(/action cutover of service catalog requested from 127\.0\.0\.1/);
    await waitFor(
      () => serve.stderr.includes('action cutover of service catalog done: service catalog cut over'),
      {
        what: 'the action logged',
      },
    );

    // The phase on the page and in the metrics is the cutover engine's, read from the databases.
    await expect.poll(catalogPhase, { timeout: 15_000 }).toBe('cut-over');
    expect(
      await page
        .locator('#services tbody tr[data-key="sales"] [data-field="phase"]')
        .getAttribute('data-value'),
    ).not.toBe('cut-over');
    await expect
      .poll(() => page.locator('button[data-action="rollback"][data-service="catalog"]').isEnabled())
      .toBe(true);
    expect(await button.isEnabled()).toBe(false);
    // A refused action (the engine's pre-check) is a 409 with the engine's code and hint, not a 500.
    const notCutOver = await fetch(`${dashboardUrl}api/actions/rollback`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'sales' }),
    });
    expect(notCutOver.status).toBe(409);
    expect(await notCutOver.json()).toMatchObject({
      ok: false,
      code: 'ROLLBACK_NOT_CUT_OVER',
      hint: expect.any(String),
    });
    // docs/img/dashboard.png: CARVE_DASHBOARD_SCREENSHOT=$PWD/docs/img/dashboard.png npx vitest run <this file>
    mkdirSync(join(work, 'shots'), { recursive: true });
    const shot = process.env.CARVE_DASHBOARD_SCREENSHOT ?? join(work, 'shots', 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    const serveMetrics = /metrics at (http:\/\/\S+\/metrics)/.exec(serve.stderr)![1]!;
    await waitFor(
      async () =>
        metricValue(parseMetrics(await (await fetch(serveMetrics)).text()), 'migration_service_phase', {
          service: 'catalog',
          phase: 'cut-over',
        }) === 1,
      { what: 'migration_service_phase{service="catalog",phase="cut-over"} 1', timeoutMs: 15_000 },
    );
    const samples = parseMetrics(await (await fetch(serveMetrics)).text());
    expect(metricValue(samples, 'migration_service_phase', { service: 'catalog', phase: 'streaming' })).toBe(
      0,
    );
    expect(metricValue(samples, 'migration_cutover_window_seconds', { service: 'catalog' })).toBeGreaterThan(
      0,
    );
    expect(
      metricValue(samples, 'migration_service_actions_total', {
        service: 'catalog',
        action: 'cutover',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(metricValue(samples, 'migration_errors_total', { kind: 'cutover_failed' })).toBe(0);

    // Still: no action without the token.
    const refused = await fetch(`${dashboardUrl}api/actions/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'catalog' }),
    });
    expect(refused.status).toBe(401);
    expect(serve.stderr).not.toContain('action rollback of service catalog');
    expect(await catalogPhase()).toBe('cut-over');
  });

  it('carve rollback --metrics-port serves the service phases while it runs (promtool accepts it), then rolls back', async () => {
    // Held before its first step (nothing done yet), scraped, then killed: catalog stays cut over.
    const rollback = start(
      [
        'rollback',
        '--plan',
        planFile,
        '--service',
        'catalog',
        '--secrets-dir',
        secretsDir,
        '--metrics-port',
        '0',
      ],
      { CARVE_TEST_PAUSE_AT: 'freeze-service' },
    );
    try {
      const url = await waitFor(() => /metrics at (http:\/\/\S+\/metrics)/.exec(rollback.stderr)?.[1], {
        what: `carve rollback to serve metrics (stderr: ${rollback.stderr})`,
        timeoutMs: 30_000,
      });
      await waitFor(() => rollback.stderr.includes('rollback: freeze-service …'), {
        what: 'rollback held at freeze-service',
        timeoutMs: 30_000,
      });
      const text = await waitFor(
        async () => {
          const body = await (await fetch(url)).text();
          const cut = metricValue(parseMetrics(body), 'migration_service_phase', {
            service: 'catalog',
            phase: 'cut-over',
          });
          return cut === 1 ? body : undefined;
        },
        { what: 'the rollback process to read the phases', timeoutMs: 15_000 },
      );
      const check = promtool(['check', 'metrics'], text);
      expect(check.code, check.output).toBe(0);
      const samples = parseMetrics(text);
      expect(metricValue(samples, 'migration_errors_total', { kind: 'rollback_failed' })).toBe(0);
      expect(metricValue(samples, 'migration_service_phase', { service: 'sales', phase: 'cut-over' })).toBe(
        0,
      );
      seen.push(text);
    } finally {
      rollback.child.kill('SIGKILL');
      await rollback.exited;
    }
    seen.push(rollback.stdout, rollback.stderr);

    // Run again, to the end: the command (with its metrics) gives catalog back to the monolith, and
    // the page shows the migration's phase for it again.
    const back = await runCarve([
      'rollback',
      '--plan',
      planFile,
      '--service',
      'catalog',
      '--secrets-dir',
      secretsDir,
      '--metrics-port',
      '0',
      '--json',
    ]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('"type":"result"');
    expect(back.stderr).toMatch(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
    seen.push(back.stdout, back.stderr);
    await expect
      .poll(
        () =>
          page
            .locator('#services tbody tr[data-key="catalog"] [data-field="phase"]')
            .getAttribute('data-value'),
        { timeout: 15_000 },
      )
      .toBe('streaming');
  });

  it('sends no password and no token anywhere: pages, API, events, metrics, logs', async () => {
    // A few seconds of the event stream.
    const controller = new AbortController();
    const response = await fetch(`${dashboardUrl}api/events`, {
      headers: bearer(),
      signal: controller.signal,
    });
    let events = '';
    const reader = response.body!.getReader();
    const deadline = Date.now() + 4500;
    while (Date.now() < deadline && !events.includes('event: snapshot')) {
      const { value, done } = await reader.read();
      if (done) break;
      events += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(events).toContain('event: snapshot');
    seen.push(events, await page.content());

    const metricsUrls = [migrate.stderr, serve.stderr].map(
      (text) => /metrics at (http:\/\/\S+\/metrics)/.exec(text)?.[1],
    );
    for (const url of metricsUrls) {
      expect(url).toBeDefined();
      const text = await (await fetch(url!)).text();
      expect(promtool(['check', 'metrics'], text).code).toBe(0);
      expect(parseMetrics(text).length).toBeGreaterThan(20);
      seen.push(text);
    }
    seen.push(migrate.stdout, migrate.stderr, serve.stdout, serve.stderr);

    const rolePasswords = readdirSync(secretsDir)
      .filter((f) => f.endsWith('.password'))
      .map((f) => readFileSync(join(secretsDir, f), 'utf8').trim());
    expect(rolePasswords.length).toBe(4); // per service: its role and carve's role
    const all = seen.join('\n');
    expect(all.length).toBeGreaterThan(10_000);
    for (const secret of [SOURCE_PASSWORD, TARGET_PASSWORD, ...rolePasswords])
      expect(all).not.toContain(secret);
    // The token travels only in requests (cookie, header): never in an answer or a log line.
    expect(seen.filter((s) => s !== events).join('\n')).not.toContain(token);
    expect(source.isRunning).toBe(true);
  });
});

function page_row(routeId: string) {
  return page.locator(`#tables tbody tr[data-key="${routeId}"]`);
}

async function page_databases(): Promise<string[]> {
  return page
    .locator('#databases tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => (r as unknown as { dataset: { key?: string } }).dataset.key ?? ''),
    );
}
