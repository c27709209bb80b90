import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { createDatabase } from '../support/cluster.js';
import { runCarve, type CliRun } from '../support/carve-cli.js';
import { useMigrationClusters } from '../support/migration.js';

/**
 * Passwords given in the plan's URLs (as `?password=…` and in the user-info part) never reach any
 * output of any command, text or --json, success or error; nor do the role passwords carve
 * generates. Database names that need escaping in a URL provision (also through the --dry-run SQL
 * and psql), migrate and verify like any other.
 */

const SECRETS = ['Src-Param-Pw-4f1e', 'Src-Info-Pw-77c3', 'Tgt-Param-Pw-9a2b', 'Tgt-Info-Pw-51d0'];
const SHOP_DB = 'shop;/?#&=+$,@:db';
const REF_DB = `ref 'q' \\ db`;

const PLAN = `name: clisec
source: \${SOURCE_URL}
target: \${TARGET_URL}
services:
  shop:
    database: ${JSON.stringify(SHOP_DB)}
    tables: { items: {} }
  ref:
    database: ${JSON.stringify(REF_DB)}
    readonly: true
    tables: { refs: {} }
`;

let source: LocalCluster;
let target: LocalCluster;
let work: string;
let planFile: string;
let secretsDir: string;
let env: Record<string, string>;
const outputs: { args: string[]; run: CliRun }[] = [];

/** A URL with a password in the user-info part and another as a query parameter (trust auth ignores both). */
function urlWithPasswords(cluster: LocalCluster, database: string, info: string, param: string): string {
  return `postgres://postgres:${info}@127.0.0.1:${cluster.port}/${encodeURIComponent(database)}?password=${param}&sslmode=disable`;
}

async function carve(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const run = await runCarve(args, { ...env, ...extraEnv });
  outputs.push({ args, run });
  return run;
}

/** Every secret carve was given or generated, none of which may appear in any output. */
function secrets(): string[] {
  const generated = readdirSync(secretsDir).map((f) => readFileSync(join(secretsDir, f), 'utf8').trim());
  return [...SECRETS, ...generated];
}

function expectNoSecrets(): void {
  for (const { args, run } of outputs) {
    for (const secret of secrets()) {
      expect(run.stdout, `stdout of carve ${args.join(' ')}`).not.toContain(secret);
      expect(run.stderr, `stderr of carve ${args.join(' ')}`).not.toContain(secret);
    }
  }
}

function psql(cluster: LocalCluster, file: string): { status: number | null; stderr: string } {
  const run = spawnSync(
    join(cluster.binaries.binDir, 'psql'),
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', cluster.url(), '-f', file],
    { encoding: 'utf8' },
  );
  return { status: run.status, stderr: run.stderr };
}

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('cli-secrets'));
  await createDatabase(source, 'mono');
  await withClient(source.url('mono'), (c) =>
    c.query(`
      CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
      CREATE TABLE refs (id int PRIMARY KEY, label text);
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
      INSERT INTO refs SELECT g, 'ref ' || g FROM generate_series(1, 20) g;`),
  );
  work = mkdtempSync(join(tmpdir(), 'carve-cli-secrets-'));
  planFile = join(work, 'plan.yaml');
  writeFileSync(planFile, PLAN);
  secretsDir = join(work, 'secrets');
  env = {
    SOURCE_URL: urlWithPasswords(source, 'mono', SECRETS[1]!, SECRETS[0]!),
    TARGET_URL: urlWithPasswords(target, 'postgres', SECRETS[3]!, SECRETS[2]!),
  };
});

describe('secrets and awkward database names through the CLI', () => {
  it('plan and provision --dry-run: no password printed, the SQL with verifiers is 0600, and psql applies it', async () => {
    for (const json of [[], ['--json']]) {
      expect((await carve(['plan', '--plan', planFile, ...json])).code).toBe(0);
    }
    const out = join(work, 'dry-run');
    const dry = await carve([
      'provision',
      '--plan',
      planFile,
      '--dry-run',
      '--out',
      out,
      '--secrets-dir',
      secretsDir,
    ]);
    expect(dry.code).toBe(0);
    expect((await carve(['provision', '--plan', planFile, '--dry-run', '--out', out, '--json'])).code).toBe(
      0,
    );
    expect(statSync(join(out, '00_roles.sql')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, '00_roles.sql'), 'utf8')).toContain('SCRAM-SHA-256$');
    // Provision through psql (post-load files come after the load: migrate builds those).
    for (const name of readdirSync(out)
      .sort()
      .filter((f) => !f.includes('post_load'))) {
      expect(psql(target, join(out, name)), name).toEqual({ status: 0, stderr: '' });
    }
    expectNoSecrets();
  });

  it('migrate, status and verify: the awkward databases migrate, and nothing secret is printed', async () => {
    const migrated = await carve(['migrate', '--plan', planFile, '--secrets-dir', secretsDir]);
    expect(migrated.stderr).not.toMatch(/error/i);
    expect(migrated.code).toBe(0);
    const status = await carve(['status', '--plan', planFile, '--secrets-dir', secretsDir, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'verified' });
    expect((await carve(['status', '--plan', planFile, '--secrets-dir', secretsDir])).code).toBe(0);
    const count = await withClient(
      target.url(SHOP_DB),
      async (c) => (await c.query('SELECT count(*)::int AS n FROM public.items')).rows[0].n,
    );
    expect(count).toBe(200);

    // A difference, found by verify, repaired by the SQL file it writes (connecting as carve's role).
    await withClient(target.url(SHOP_DB), (c) => c.query('DELETE FROM public.items WHERE id <= 3'));
    const repair = join(work, 'repair.sql');
    const found = await carve([
      'verify',
      '--plan',
      planFile,
      '--secrets-dir',
      secretsDir,
      '--repair-sql',
      repair,
    ]);
    expect(found.code).toBe(4);
    expect((await carve(['verify', '--plan', planFile, '--secrets-dir', secretsDir, '--json'])).code).toBe(4);
    const sql = readFileSync(repair, 'utf8');
    for (const secret of secrets()) expect(sql).not.toContain(secret);
    expect(sql).toContain(`\\connect 'postgres://carve_shop@127.0.0.1:${target.port}/`);
    expect(psql(target, repair)).toEqual({ status: 0, stderr: '' });
    expect((await carve(['verify', '--plan', planFile, '--secrets-dir', secretsDir])).code).toBe(0);
    expectNoSecrets();
  });

  it('errors: unreachable servers, a plan with a bad key or broken YAML print no password', async () => {
    const closed = `postgres://postgres:${SECRETS[3]}@127.0.0.1:1/postgres?password=${SECRETS[2]}`;
    for (const args of [
      ['provision', '--plan', planFile],
      ['provision', '--plan', planFile, '--json'],
      ['status', '--plan', planFile],
      ['copy', '--plan', planFile, '--json'],
      ['verify', '--plan', planFile],
    ]) {
      const run = await carve(args, { TARGET_URL: closed });
      expect(run.code, args.join(' ')).toBe(1);
    }
    const badSource = `postgres://postgres:${SECRETS[1]}@127.0.0.1:1/mono?password=${SECRETS[0]}`;
    expect((await carve(['plan', '--plan', planFile], { SOURCE_URL: badSource })).code).toBe(1);
    expect((await carve(['migrate', '--plan', planFile, '--json'], { SOURCE_URL: badSource })).code).toBe(1);

    const badKey = join(work, 'bad-key.yaml');
    writeFileSync(badKey, PLAN.replace('readonly: true', 'readonly: true\n    passwrd: x'));
    expect((await carve(['plan', '--plan', badKey])).code).toBe(2);
    expect((await carve(['plan', '--plan', badKey, '--json'])).code).toBe(2);
    const badYaml = join(work, 'bad-yaml.yaml');
    writeFileSync(
      badYaml,
      PLAN.replace(
        'target: ${TARGET_URL}',
        `target: "postgres://u:${SECRETS[3]}@h/db?password=${SECRETS[2]}`,
      ),
    );
    expect((await carve(['plan', '--plan', badYaml])).code).toBe(2);
    expect((await carve(['plan', '--plan', badYaml, '--json'])).code).toBe(2);
    const badUrl = join(work, 'bad-url.yaml');
    writeFileSync(badUrl, PLAN.replace('target: ${TARGET_URL}', `target: mysql://u:${SECRETS[3]}@h/db`));
    expect((await carve(['plan', '--plan', badUrl, '--json'])).code).toBe(2);
    expectNoSecrets();
  });
});
