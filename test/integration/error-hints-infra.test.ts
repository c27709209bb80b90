import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { spawnCarve } from '../support/carve-cli.js';
import { createDatabase } from '../support/cluster.js';
import { useMigrationClusters } from '../support/migration.js';
import { jsonError, fails, succeeds } from '../support/cli-errors.js';

/**
 * The error codes of provisioning, loading, backups, replication set-up, connections and the demo
 * seed, each triggered through the CLI as an operator would meet it, and its hint then followed
 * literally: the command (or the one the hint names) succeeds afterwards. One pair of clusters;
 * the steps build on each other, so they run in order.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const work = mkdtempSync(join(tmpdir(), 'carve-hints-infra-'));
const secretsDir = join(work, 'secrets');

function writePlan(file: string, source: string): void {
  writeFileSync(
    file,
    stringify({
      name: 'infra',
      source,
      target: target.url(),
      services: { shop: { database: 'infra_shop', tables: { items: {}, notes: {} } } },
    }),
  );
}

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('hints-infra'));
  sourceUrl = await createDatabase(source, 'mono');
  // Two functions carve does not copy: a column default uses one (PROVISION_FAILED), an index the
  // other (POST_LOAD_FAILED). The index and the TOAST table of items are also what once made
  // carve backup's readability check fail (has_sequence_privilege on a non-sequence).
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE FUNCTION item_code() RETURNS text LANGUAGE sql AS $$ SELECT 'I-' || md5(random()::text) $$;
             CREATE FUNCTION norm(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(trim($1)) $$;
             CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int, code text DEFAULT item_code());
             INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g;
             CREATE INDEX items_label_norm ON items (norm(label));
             CREATE TABLE notes (id bigint PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;`),
  );
  planFile = join(work, 'plan.yaml');
  writePlan(planFile, sourceUrl);
});

const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];

/** A function's definition as on the monolith, run in a service database (what the hint asks). */
async function copyFunction(name: string, database: string): Promise<void> {
  const definition = await withClient(sourceUrl, async (c) =>
    String((await c.query(`SELECT pg_get_functiondef($1::regproc) AS d`, [name])).rows[0].d),
  );
  await withClient(target.url(database), (c) => c.query(definition));
}

describe('error hints of the infrastructure, followed literally', () => {
  it('CONNECTION_FAILED: a monolith database that takes no connections; ALTER DATABASE … ALLOW_CONNECTIONS true', async () => {
    await withClient(source.url(), (c) => c.query('ALTER DATABASE mono WITH ALLOW_CONNECTIONS false'));
    const error = await fails(['plan', '--plan', planFile], 'CONNECTION_FAILED', 1);
    const statement = /ALTER DATABASE \S+ WITH ALLOW_CONNECTIONS true;/.exec(error.hint)?.[0];
    expect(statement, error.hint).toBeDefined();
    await withClient(source.url(), (c) => c.query(statement!));
    await succeeds(['plan', '--plan', planFile]);
  });

  it('PROVISION_FAILED: a column default calls a function the service database lacks; create it there', async () => {
    const error = await fails(cli('provision'), 'PROVISION_FAILED', 1);
    expect(error.message).toContain('item_code()');
    expect(error.hint).toContain('create it in infra_shop as it is on the monolith');
    await copyFunction('public.item_code', 'infra_shop');
    await succeeds(cli('provision'));
  });

  it('POST_LOAD_FAILED: an index on a function the service database lacks; create it, migrate again', async () => {
    const error = await fails(cli('migrate'), 'POST_LOAD_FAILED', 1);
    expect(error.message).toContain('norm(text)');
    expect(error.hint).toContain('carve migrate resumes');
    await copyFunction('public.norm', 'infra_shop');
    await succeeds(cli('migrate'));
  });

  /** A directory with a `pg_dump` (or `pg_restore`) that is a shell script, and the real other tool. */
  function toolDir(name: string, scripts: Record<string, string>, real: string[]): string {
    const dir = join(work, name);
    mkdirSync(dir);
    for (const [tool, body] of Object.entries(scripts)) {
      writeFileSync(join(dir, tool), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    for (const tool of real) symlinkSync(join(source.binaries.binDir, tool), join(dir, tool));
    return dir;
  }

  it('BACKUP_PG_DUMP_TOO_OLD: a pg_dump 13 given; the --pg-dump the hint names', async () => {
    const old = toolDir('old-tools', { pg_dump: 'echo "pg_dump (PostgreSQL) 13.14"' }, ['pg_restore']);
    const out = join(work, 'backup-old');
    const error = await fails(
      cli('backup', '--out', out, '--pg-dump', join(old, 'pg_dump')),
      'BACKUP_PG_DUMP_TOO_OLD',
      1,
    );
    const pgDump = /--pg-dump (\S+)/.exec(error.hint)?.[1];
    expect(pgDump, error.hint).toBe(join(source.binaries.binDir, 'pg_dump'));
    await succeeds(cli('backup', '--out', out, '--pg-dump', pgDump!));
  });

  it('BACKUP_CHECK_FAILED: a pg_restore beside --pg-dump that cannot read the dump; a --pg-dump with both', async () => {
    const mixed = toolDir(
      'mixed-tools',
      { pg_restore: 'echo "pg_restore: error: unsupported version (1.15) in file header" >&2; exit 1' },
      ['pg_dump'],
    );
    const out = join(work, 'backup-mixed');
    const error = await fails(
      cli('backup', '--out', out, '--pg-dump', join(mixed, 'pg_dump')),
      'BACKUP_CHECK_FAILED',
      1,
    );
    expect(existsSync(out)).toBe(false);
    const pgDump = /e\.g\. (\S+),/.exec(error.hint)?.[1];
    expect(pgDump, error.hint).toBe(join(source.binaries.binDir, 'pg_dump'));
    await succeeds(cli('backup', '--out', out, '--pg-dump', pgDump!));
  });

  it('BACKUP_DUMP_FAILED: the monolith refuses pg_dump more connections; a lower --jobs', async () => {
    // A monolith user limited to 3 sessions: carve's own, its snapshot slot and pg_dump's main one
    // fit (--jobs 1); --jobs 4 needs at least one worker more. With a limit of 5, --jobs 4 once got
    // through in a fresh-clone CI run (why fewer sessions than counted were open is not known).
    await withClient(sourceUrl, (c) =>
      c.query(`CREATE ROLE dumper LOGIN REPLICATION CONNECTION LIMIT 3;
               GRANT SELECT ON items, notes TO dumper;`),
    );
    const dumperPlan = join(work, 'dumper-plan.yaml');
    writePlan(dumperPlan, source.url('mono', 'dumper'));
    const args = [
      'backup',
      '--plan',
      dumperPlan,
      '--secrets-dir',
      secretsDir,
      '--out',
      join(work, 'backup-jobs'),
    ];
    const error = await fails([...args, '--jobs', '4'], 'BACKUP_DUMP_FAILED', 1);
    expect(error.message).toContain('too many connections');
    const jobs = /e\.g\. (--jobs \d+)/.exec(error.hint)?.[1];
    expect(jobs, error.hint).toBe('--jobs 1');
    await succeeds([...args, ...jobs!.split(' ')]);
  });
  it('RECOVER_CHECK_FAILED: a monolith trigger enabled ALWAYS rewrites recovered rows; enable it for the application only', async () => {
    await withClient(sourceUrl, (c) =>
      c.query(`CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN NEW.label := upper(NEW.label); RETURN NEW; END $$;
               CREATE TRIGGER items_shout BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION shout();
               ALTER TABLE items ENABLE ALWAYS TRIGGER items_shout;`),
    );
    // The service's rows are the truth; five of them changed there.
    await withClient(target.url('infra_shop'), (c) => c.query(`UPDATE items SET qty = -id WHERE id <= 5`));
    const recover = cli('recover', '--service', 'shop', '--yes');
    const error = await fails(recover, 'RECOVER_CHECK_FAILED', 1);
    const statement = /run (ALTER TABLE \S+ ENABLE TRIGGER \S+;) on the monolith/.exec(error.hint)?.[1];
    expect(statement, error.hint).toBe('ALTER TABLE "public"."items" ENABLE TRIGGER "items_shout";');
    // Nothing was committed.
    const before = await withClient(sourceUrl, (c) =>
      c.query(`SELECT count(*)::int AS n FROM items WHERE qty < 0`),
    );
    expect(before.rows[0].n).toBe(0);
    await withClient(sourceUrl, (c) => c.query(statement!));
    await succeeds(recover);
    const after = await withClient(sourceUrl, (c) =>
      c.query(`SELECT count(*)::int AS n FROM items WHERE qty < 0`),
    );
    expect(after.rows[0].n).toBe(5);
  });
});

describe('replication slots that are not what the copy left', () => {
  let repUrl: string;
  let repPlan: string;
  const rep = (...args: string[]) => [...args, '--plan', repPlan, '--secrets-dir', join(work, 'rep-secrets')];

  function writeRepPlan(file: string, url: string): void {
    writeFileSync(
      file,
      stringify({
        name: 'rep',
        source: url,
        target: target.url(),
        services: { rep: { database: 'rep_svc', tables: { rows: {} } } },
      }),
    );
  }

  beforeAll(async () => {
    repUrl = await createDatabase(source, 'mono_rep');
    await withClient(repUrl, (c) =>
      c.query(`CREATE TABLE rows (id bigint PRIMARY KEY, v int);
               INSERT INTO rows SELECT g, g FROM generate_series(1, 100) g;`),
    );
    repPlan = join(work, 'rep-plan.yaml');
    writeRepPlan(repPlan, repUrl);
    await succeeds(rep('migrate'));
  });

  it('REPLICATION_SLOT_WRONG_DATABASE: the plan names a copy of the monolith; point it back', async () => {
    await withClient(source.url(), (c) => c.query('CREATE DATABASE mono_rep_restored TEMPLATE mono_rep'));
    writeRepPlan(repPlan, source.url('mono_rep_restored'));
    const error = await fails(rep('sync', '--until-caught-up'), 'REPLICATION_SLOT_WRONG_DATABASE', 1);
    const database = /point the plan's source URL at database (\S+) /.exec(error.hint)?.[1];
    expect(database, error.hint).toBe('mono_rep');
    writeRepPlan(repPlan, source.url(database!));
    await succeeds(rep('sync', '--until-caught-up'));
  });

  it('REPLICATION_SLOT_WRONG_PLUGIN: another tool took the slot name; start over as the hint says', async () => {
    await withClient(repUrl, async (c) => {
      await c.query(`SELECT pg_drop_replication_slot('carve_rep')`);
      await c.query(`SELECT pg_create_logical_replication_slot('carve_rep', 'test_decoding')`);
    });
    const error = await fails(rep('sync', '--until-caught-up'), 'REPLICATION_SLOT_WRONG_PLUGIN', 1);
    expect(error.hint).toContain(`carve teardown --plan ${repPlan} --yes`);
    expect(error.hint).toContain('then drop the service databases (rep_svc)');
    await succeeds(['teardown', '--plan', repPlan, '--yes']);
    await withClient(target.url(), (c) => c.query('DROP DATABASE rep_svc'));
    await succeeds(rep('migrate'));
    await succeeds(rep('sync', '--until-caught-up'));
  });
});

describe('a monolith database not in UTF8', () => {
  it('REPLICATION_ENCODING_UNSUPPORTED: a SQL_ASCII monolith, refused before the copy; moved to UTF8 as the hint says', async () => {
    await withClient(source.url(), (c) =>
      c.query(`CREATE DATABASE mono_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE 'C'`),
    );
    const url = source.url('mono_ascii');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE words (id bigint PRIMARY KEY, w text);
               INSERT INTO words SELECT g, 'word ' || g FROM generate_series(1, 100) g;`),
    );
    const plan = join(work, 'ascii-plan.yaml');
    writeFileSync(
      plan,
      stringify({
        name: 'asc',
        source: url,
        target: target.url(),
        services: { words: { database: 'asc_words', tables: { words: {} } } },
      }),
    );
    const args = ['migrate', '--plan', plan, '--secrets-dir', join(work, 'asc-secrets')];
    const error = await fails(args, 'REPLICATION_ENCODING_UNSUPPORTED', 1);
    // Refused before the copy: nothing on the monolith, nothing in the service database.
    const slots = await withClient(url, (c) =>
      c.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'carve_asc'`),
    );
    expect(slots.rowCount).toBe(0);
    // The hint's commands, run as written by a shell that reaches the monolith's server.
    const createdb = /: (createdb [^,]+),/.exec(error.hint)?.[1];
    const dump = /then (pg_dump .+?) \(/.exec(error.hint)?.[1];
    const utf8 = /point the plan's source at (\S+) /.exec(error.hint)?.[1];
    expect([createdb, dump, utf8], error.hint).toEqual([
      'createdb --encoding UTF8 --template template0 mono_ascii_utf8',
      'pg_dump mono_ascii | psql --set ON_ERROR_STOP=1 mono_ascii_utf8',
      'mono_ascii_utf8',
    ]);
    const shell = spawnSync('sh', ['-ec', `${createdb}\n${dump}`], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${source.binaries.binDir}:${process.env.PATH}`,
        PGHOST: source.host,
        PGPORT: String(source.port),
        PGUSER: source.superuser,
      },
    });
    expect(shell.status, shell.stderr).toBe(0);
    writeFileSync(plan, readFileSync(plan, 'utf8').replace(url, source.url(utf8!)));
    await succeeds(args);
  });
});

describe('carve demo seed', () => {
  it('DEMO_SEED_ABORTED: a seed stopped with SIGINT; drop the database and seed a new one', async () => {
    const url = await createDatabase(source, 'demo_stopped');
    const args = ['demo', 'seed', '--source', url, '--scale', '0.001', '--connections', '1'];
    const seed = spawnCarve([...args, '--json']);
    let out = '';
    seed.child.stdout!.on('data', (d: Buffer) => {
      if (!out.includes('"type":"progress"') && `${out}${d}`.includes('"type":"progress"'))
        seed.child.kill('SIGINT');
      out += d;
    });
    const run = await seed.done;
    const error = jsonError(run);
    expect(error.code, error.message).toBe('DEMO_SEED_ABORTED');
    expect(run.code).toBe(3);
    expect(error.hint).toContain('drop it and seed a new one');
    await withClient(source.url(), async (c) => {
      await c.query('DROP DATABASE demo_stopped');
      await c.query('CREATE DATABASE demo_stopped');
    });
    await succeeds(args);
  });

  it('DEMO_SEED_FAILED: the server ends the seed sessions; drop, create and seed again', async () => {
    const url = await createDatabase(source, 'demo_cut');
    // One connection: the tables load one after another, so the load is still on when the cut lands.
    const args = ['demo', 'seed', '--source', url, '--scale', '0.001', '--connections', '1'];
    const seed = spawnCarve([...args, '--json']);
    let out = '';
    let cut: Promise<unknown> | undefined;
    seed.child.stdout!.on('data', (d: Buffer) => {
      out += d;
      cut ??= out.includes('"type":"progress"')
        ? withClient(source.url(), (c) =>
            c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'demo_cut'`),
          )
        : undefined;
    });
    const run = await seed.done;
    await cut;
    const error = jsonError(run);
    expect(error.code, error.message).toBe('DEMO_SEED_FAILED');
    expect(run.code).toBe(1);
    expect(error.hint).toContain('drop it, create it again and seed it again');
    await withClient(source.url(), async (c) => {
      await c.query('DROP DATABASE demo_cut');
      await c.query('CREATE DATABASE demo_cut');
    });
    await succeeds(args);
  });
});
