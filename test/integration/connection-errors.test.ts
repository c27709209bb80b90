import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';

/**
 * Every kind of connection failure, through the real CLI (bin/carve.js), in text and in --json:
 * a stable code, exit 1, a hint, host:port and database named, and never the password.
 */
const PASSWORD = 'Right-Pass-4711';
const WRONG = 'Wrong-Pass-0815';

let pg: LocalCluster;
let monolithUrl: string;
let work: string;
let blackhole: Server;
let blackholePort: number;
const held: Socket[] = [];

beforeAll(async () => {
  pg = await useCluster({ name: 'conn-errors' });
  monolithUrl = await createDatabase(pg, 'mono');
  await withClient(monolithUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
             CREATE ROLE app_user LOGIN SUPERUSER PASSWORD '${PASSWORD}';
             CREATE ROLE limited LOGIN;`),
  );
  // app_user must give its password over TCP; everyone else stays on the cluster's trust.
  // So does carve_pw, carve's role for one service database below.
  const hba = join(pg.dataDir, 'pg_hba.conf');
  writeFileSync(
    hba,
    `host all app_user 127.0.0.1/32 scram-sha-256\nhost all carve_pw 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`,
  );
  await withClient(pg.url(), (c) => c.query('SELECT pg_reload_conf()'));
  work = mkdtempSync(join(tmpdir(), 'carve-conn-'));
  // Accepts TCP connections and never answers: a server behind a dead link.
  blackhole = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  blackholePort = (blackhole.address() as { port: number }).port;
});

afterAll(() => {
  for (const socket of held) socket.destroy();
  blackhole?.close();
});

function writePlan(name: string, source: string, target = pg.url()): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      name,
      source,
      target,
      services: { app: { database: `${name}_app`, tables: { items: {} } } },
    }),
  );
  return file;
}

interface ErrorLine {
  type: string;
  code: string;
  message: string;
  hint: string | null;
  details: Record<string, unknown>;
}

/** The one JSON error object a failed --json command prints last on stdout. */
function jsonError(run: CliRun): ErrorLine {
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines.at(-1)!) as ErrorLine;
}

/** Runs `carve <command> --plan <file>` in text and in --json and checks both say the same. */
async function expectFailure(
  command: string,
  plan: string,
  code: string,
  where: { host: string; port: number; database: string },
  secrets: string[] = [],
): Promise<ErrorLine> {
  const text = await runCarve([command, '--plan', plan]);
  expect(text.code, text.stderr).toBe(1);
  expect(text.stderr).toContain(`carve: ${code}: `);
  expect(text.stderr).toMatch(/\n {2}→ \S/); // a hint
  expect(text.stderr).toContain(where.host);
  expect(text.stderr).not.toContain('unexpected error');

  const json = await runCarve([command, '--plan', plan, '--json']);
  expect(json.code, json.stderr).toBe(1);
  const error = jsonError(json);
  expect(error).toMatchObject({ type: 'error', code, details: where });
  expect(error.hint).toEqual(expect.any(String));
  expect(error.message).toContain(where.host);
  for (const run of [text, json]) {
    for (const secret of secrets) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  }
  return error;
}

/** `carve status` on the plan exits 0: the connection the hint fixed works. */
async function statusSucceeds(plan: string): Promise<void> {
  const run = await runCarve(['status', '--plan', plan, '--json']);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}

describe('connection failures are coded errors with hints, in every command', () => {
  it('connection refused (copy, sync, verify, status, migrate)', async () => {
    const plan = writePlan('refused', `postgres://app_user:${WRONG}@127.0.0.1:1/mono`);
    for (const command of ['copy', 'sync', 'verify', 'status', 'migrate']) {
      const error = await expectFailure(
        command,
        plan,
        'CONNECTION_REFUSED',
        { host: '127.0.0.1', port: 1, database: 'mono' },
        [WRONG],
      );
      expect(error.details).toMatchObject({ endpoint: 'monolith', errno: 'ECONNREFUSED' });
    }
    // The hint: correct the host and port in the monolith URL; then the command runs.
    await statusSucceeds(writePlan('refused', `postgres://app_user:${PASSWORD}@127.0.0.1:${pg.port}/mono`));
  });

  it('authentication failed, with the password in the URL or as ?password=; fixing it works', async () => {
    const at = { host: '127.0.0.1', port: pg.port, database: 'mono' };
    const inUserinfo = writePlan('auth', `postgres://app_user:${WRONG}@127.0.0.1:${pg.port}/mono`);
    const error = await expectFailure('status', inUserinfo, 'CONNECTION_AUTH_FAILED', at, [WRONG]);
    expect(error.details).toMatchObject({ user: 'app_user', sqlState: '28P01' });
    expect(error.message).toContain('password authentication failed'); // the server's reason

    const asParameter = writePlan('auth', `postgres://app_user@127.0.0.1:${pg.port}/mono?password=${WRONG}`);
    await expectFailure('copy', asParameter, 'CONNECTION_AUTH_FAILED', at, [WRONG]);
    await expectFailure('verify', asParameter, 'CONNECTION_AUTH_FAILED', at, [WRONG]);

    // The hint says to check the password in the plan's source: with the right one it connects.
    const fixed = writePlan('auth', `postgres://app_user@127.0.0.1:${pg.port}/mono?password=${PASSWORD}`);
    const status = await runCarve(['status', '--plan', fixed, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout + status.stderr).not.toContain(PASSWORD);
  });

  it('unknown host', async () => {
    const plan = writePlan('nohost', 'postgres://app_user@no-such-host.invalid:5432/mono');
    const error = await expectFailure('verify', plan, 'CONNECTION_UNKNOWN_HOST', {
      host: 'no-such-host.invalid',
      port: 5432,
      database: 'mono',
    });
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(error.details.errno);
    expect(error.hint).toContain('Correct the host name "no-such-host.invalid"');
    await statusSucceeds(writePlan('nohost', `postgres://postgres@127.0.0.1:${pg.port}/mono`));
  });

  it('timeout (a server that never answers), within the URL’s connect_timeout', async () => {
    const plan = writePlan('slow', `postgres://app_user@127.0.0.1:${blackholePort}/mono?connect_timeout=1`);
    const started = Date.now();
    await expectFailure('sync', plan, 'CONNECTION_TIMEOUT', {
      host: '127.0.0.1',
      port: blackholePort,
      database: 'mono',
    });
    expect(Date.now() - started).toBeLessThan(15_000); // two runs of ~1 s, not the 15 s default
    // The hint: check that the server is reachable (here: the URL named a dead endpoint, so it
    // names the real server now), keeping the URL's connect_timeout.
    await statusSucceeds(
      writePlan('slow', `postgres://postgres@127.0.0.1:${pg.port}/mono?connect_timeout=1`),
    );
  });

  it('too many connections; lifting the limit as the hint says works', async () => {
    await withClient(pg.url(), (c) => c.query('ALTER ROLE limited CONNECTION LIMIT 0'));
    const plan = writePlan('limited', `postgres://limited@127.0.0.1:${pg.port}/mono`);
    const error = await expectFailure('migrate', plan, 'CONNECTION_TOO_MANY', {
      host: '127.0.0.1',
      port: pg.port,
      database: 'mono',
    });
    expect(error.details.sqlState).toBe('53300');
    expect(error.hint).toContain('CONNECTION LIMIT');
    await withClient(pg.url(), (c) => c.query('ALTER ROLE limited CONNECTION LIMIT -1'));
    const status = await runCarve(['status', '--plan', plan]);
    expect(status.code, status.stderr).toBe(0);
  });

  it('the monolith database does not exist', async () => {
    const plan = writePlan('nodb', `postgres://postgres@127.0.0.1:${pg.port}/no_such_db`);
    const error = await expectFailure('status', plan, 'CONNECTION_DATABASE_MISSING', {
      host: '127.0.0.1',
      port: pg.port,
      database: 'no_such_db',
    });
    expect(error.details).toMatchObject({ endpoint: 'monolith', sqlState: '3D000' });
    // The hint's second way: create database no_such_db on the server (carve's tables with it).
    expect(error.hint).toContain(`create database no_such_db on 127.0.0.1:${pg.port}`);
    await createDatabase(pg, 'no_such_db');
    await withClient(pg.url('no_such_db'), (c) =>
      c.query('CREATE TABLE items (id bigint PRIMARY KEY, label text)'),
    );
    await statusSucceeds(plan);
  });

  it('a monolith user without CONNECT: the GRANT the hint names lets it in', async () => {
    await createDatabase(pg, 'closed');
    await withClient(pg.url('closed'), (c) =>
      c.query('CREATE TABLE items (id bigint PRIMARY KEY, label text)'),
    );
    await withClient(pg.url(), (c) => c.query('REVOKE CONNECT ON DATABASE closed FROM PUBLIC'));
    const plan = writePlan('closed', `postgres://limited@127.0.0.1:${pg.port}/closed`);
    const error = await expectFailure('status', plan, 'CONNECTION_PERMISSION_DENIED', {
      host: '127.0.0.1',
      port: pg.port,
      database: 'closed',
    });
    const grant = /GRANT CONNECT ON DATABASE \S+ TO \S+;/.exec(error.hint!)?.[0];
    expect(grant, error.hint!).toBe('GRANT CONNECT ON DATABASE closed TO limited;');
    await withClient(pg.url(), (c) => c.query(grant!));
    await statusSucceeds(plan);
  });

  it('a service database not provisioned yet: following the hint literally (carve provision) fixes it', async () => {
    const plan = writePlan('unprovisioned', monolithUrl);
    // carve logs in to a service database as carve's role for it, which provision creates: before
    // provision the server refuses that role (docs/security.md).
    const error = await expectFailure('verify', plan, 'CONNECTION_AUTH_FAILED', {
      host: '127.0.0.1',
      port: pg.port,
      database: 'unprovisioned_app',
    });
    expect(error.details).toMatchObject({ endpoint: 'service', sqlState: '28000', user: 'carve_app' });
    // The hint names the command to run, with this very plan file.
    const command = /`carve ([^`]+)`/.exec(error.hint!)?.[1];
    expect(command).toBe(`provision --plan ${plan}`);
    const provisioned = await runCarve([...command!.split(' '), '--secrets-dir', join(work, 'secrets')]);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    const copied = await runCarve(['copy', '--plan', plan]);
    expect(copied.code, copied.stderr).toBe(0);
    const verified = await runCarve(['verify', '--plan', plan]);
    expect(verified.code, verified.stderr + verified.stdout).toBe(0);
  });
});

describe('carve’s password for a service database not found', () => {
  it('is an authentication failure naming the role, and --secrets-dir as at provision fixes it', async () => {
    const file = join(work, 'nopass.yaml');
    writeFileSync(
      file,
      stringify({
        name: 'nopass',
        source: monolithUrl,
        target: pg.url(),
        services: { app: { database: 'nopass_app', carve_role: 'carve_pw', tables: { items: {} } } },
      }),
    );
    const secrets = join(work, 'nopass-secrets');
    const provisioned = await runCarve(['provision', '--plan', file, '--secrets-dir', secrets]);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    // The server asks carve_pw for a password; without --secrets-dir carve looks in the default
    // directory, which has none.
    const error = await expectFailure('status', file, 'CONNECTION_AUTH_FAILED', {
      host: '127.0.0.1',
      port: pg.port,
      database: 'nopass_app',
    });
    expect(error.details).toMatchObject({ endpoint: 'service', user: 'carve_pw', sqlState: null });
    expect(error.message).toContain('none was given');
    expect(error.hint).toContain('--secrets-dir');
    const status = await runCarve(['status', '--plan', file, '--secrets-dir', secrets, '--json']);
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(0);
  });
});

describe('a target connection that drops during sync', () => {
  it('is reported in carve’s words (CONNECTION_LOST naming the database), and sync reconnects', async () => {
    const plan = writePlan('dropped', monolithUrl);
    expect((await runCarve(['provision', '--plan', plan, '--secrets-dir', join(work, 's2')])).code).toBe(0);
    expect((await runCarve(['copy', '--plan', plan])).code).toBe(0);

    for (const json of [true, false]) {
      const { child, done } = spawnCarve(['sync', '--plan', plan, ...(json ? ['--json'] : [])]);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      try {
        await waitFor(() => out.includes(json ? '"stream-started"' : 'streaming from'), {
          what: 'sync to stream',
        });
        // Break the idle applier connections on the service database.
        await withClient(pg.url('dropped_app'), (c) =>
          c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND backend_type = 'client backend'`),
        );
        // An idle connection notices on its next use; a write on the monolith makes that happen.
        await withClient(monolithUrl, (c) => c.query(`UPDATE items SET label = label || '!' WHERE id = 1`));
        await waitFor(() => out.includes(json ? '"reconnecting"' : 'reconnecting in'), {
          what: 'a reconnect',
          timeoutMs: 30_000,
        });
      } finally {
        child.kill('SIGINT');
      }
      const run = await done;
      expect(run.code, run.stderr).toBe(0);
      expect(out).not.toContain('not queryable');
      expect(out).not.toContain('Connection terminated');
      if (json) {
        const event = out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string; error?: { code: string; message: string } })
          .find((e) => e.type === 'reconnecting')!;
        expect(event.error).toMatchObject({
          code: 'CONNECTION_LOST',
          transient: true,
          database: 'dropped_app',
        });
        expect(event.error!.message).toContain(`service database dropped_app at 127.0.0.1:${pg.port}`);
      } else {
        expect(out).toMatch(
          /reconnecting in .*dropped_app: CONNECTION_LOST Lost the connection to service database dropped_app/,
        );
      }
    }
  });
});
