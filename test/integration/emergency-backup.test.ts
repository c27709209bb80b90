import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backup, readLatestBackup, type BackupManifest } from '../../src/backup/index.js';
import { clientTool } from '../../src/cluster/binaries.js';
import { readMigrationStatus } from '../../src/migrate/status.js';
import { withClient } from '../../src/pg/connect.js';
import { quoteQualified } from '../../src/pg/quote.js';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { prepareMigration, useMigrationClusters, type Migration } from '../support/migration.js';

/** `carve backup`: a dump at an exact LSN, under writes, that restores to the manifest's counts. */
let m: Migration;
let planFile: string;

beforeAll(async () => {
  const clusters = await useMigrationClusters('backup');
  m = await prepareMigration(clusters, {
    name: 'bk',
    monolithSql: `
      CREATE TABLE patients (id bigserial PRIMARY KEY, name text NOT NULL, secret text);
      CREATE TABLE visits (id bigserial PRIMARY KEY, patient_id bigint REFERENCES patients, at timestamptz DEFAULT now());
      CREATE TABLE readings (id bigint, taken date, value numeric, PRIMARY KEY (id, taken)) PARTITION BY RANGE (taken);
      CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE "odd ""name""" (id int PRIMARY KEY);
      CREATE TABLE not_moving (id int PRIMARY KEY);
      INSERT INTO patients (name, secret) SELECT 'p' || g, 's' FROM generate_series(1, 2000) g;
      INSERT INTO visits (patient_id) SELECT 1 + g % 2000 FROM generate_series(1, 5000) g;
      INSERT INTO readings SELECT g, date '2024-06-01' + (g % 400), g FROM generate_series(1, 3000) g;
      INSERT INTO "odd ""name""" SELECT generate_series(1, 7);
      INSERT INTO not_moving SELECT generate_series(1, 5);`,
    planBody: `
services:
  patient:
    database: bk_patient
    tables:
      people: { from: patients, drop: [secret] }
      'odd "name"': {}
  clinical:
    database: bk_clinical
    tables: { visits: {}, readings: {} }
exclude: [not_moving]
`,
  });
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-backup-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
});

async function count(url: string, schema: string, name: string): Promise<number> {
  return withClient(url, async (c) =>
    Number((await c.query(`SELECT count(*) AS n FROM ${quoteQualified(schema, name)}`)).rows[0].n),
  );
}

describe('carve backup', () => {
  it('dumps every moving table at one LSN under writes; a restore holds exactly the manifest counts', async () => {
    let writing = true;
    let written = 0;
    const writer = withClient(m.sourceUrl, async (c) => {
      while (writing) {
        await c.query(`BEGIN`);
        const id = (await c.query(`INSERT INTO patients (name) VALUES ('w') RETURNING id`)).rows[0].id;
        await c.query(`INSERT INTO visits (patient_id) VALUES ($1)`, [id]);
        await c.query(`DELETE FROM visits WHERE id = (SELECT min(id) FROM visits)`);
        await c.query(`INSERT INTO readings VALUES ($1, '2025-03-01', 1)`, [100_000 + written]);
        await c.query(`COMMIT`);
        written++;
      }
    });
    const out = join(mkdtempSync(join(tmpdir(), 'carve-backup-out-')), 'b1');
    const events: string[] = [];
    let result;
    try {
      await new Promise((r) => setTimeout(r, 300));
      result = await backup({
        routing: m.routing,
        outDir: out,
        jobs: 2,
        onEvent: (e) => events.push(e.type),
      });
    } finally {
      writing = false;
      await writer;
    }
    expect(written).toBeGreaterThan(0);
    expect(events).toEqual(['backup-snapshot', 'backup-dumped', 'backup-checked', 'backup-recorded']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BackupManifest;
    expect(manifest).toMatchObject({ format: 'carve-backup/1', migration: 'bk', lsn: result.manifest.lsn });
    expect(manifest.pgDumpVersion).toMatch(/^\d+/);
    expect(statSync(join(out, 'manifest.json')).mode & 0o077).toBe(0);
    const names = manifest.tables.map((t) => t.name).sort();
    expect(names).toEqual(['odd "name"', 'patients', 'readings', 'readings_2024', 'readings_2025', 'visits']);
    expect(manifest.tables.find((t) => t.name === 'odd "name"')?.rows).toBe(7);
    expect(result.recordedIn.sort()).toEqual(['bk_clinical', 'bk_patient']);
    expect(await readLatestBackup(m.routing)).toMatchObject({ path: out, lsn: manifest.lsn, tables: 4 });
    expect((await readMigrationStatus(m.routing, { lagSeconds: false })).backup).toMatchObject({ path: out });

    // Restore into a fresh database: the schema file, then the data.
    const fresh = await createDatabase(m.source, 'bk_restored');
    const restore = spawnSync(
      clientTool('pg_restore'),
      ['--no-owner', '--no-privileges', '--jobs=2', `--dbname=${fresh}`, join(out, 'dump')],
      { encoding: 'utf8' },
    );
    expect(restore.status, restore.stderr).toBe(0);
    for (const t of manifest.tables)
      expect(await count(fresh, t.schema, t.name), `${t.schema}.${t.name}`).toBe(t.rows);
    // The excluded table is not in the dump; the monolith has moved on since.
    expect(
      await withClient(
        fresh,
        async (c) => (await c.query(`SELECT to_regclass('not_moving') AS r`)).rows[0].r,
      ),
    ).toBeNull();
    expect(await count(m.sourceUrl, 'public', 'patients')).toBeGreaterThanOrEqual(
      manifest.tables.find((t) => t.name === 'patients')!.rows,
    );
    // pg_dump's schema-only file of the whole monolith is there for restores into an empty server.
    expect(readFileSync(join(out, 'monolith-schema.sql'), 'utf8')).toContain(
      'CREATE TABLE public.not_moving',
    );
  });

  it('refuses a non-empty --out with a coded error, from the CLI too; --json names the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carve-backup-full-'));
    writeFileSync(join(dir, 'x'), 'x');
    await expect(backup({ routing: m.routing, outDir: dir })).rejects.toMatchObject({
      code: 'BACKUP_OUT_NOT_EMPTY',
    });
    const cli = await runCarve([
      'backup',
      '--plan',
      planFile,
      '--out',
      dir,
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(cli.code).toBe(2);
    expect(JSON.parse(cli.stdout)).toMatchObject({ type: 'error', code: 'BACKUP_OUT_NOT_EMPTY' });

    const missing = await backup({
      routing: m.routing,
      outDir: join(dir, 'sub'),
      pgDump: '/nonexistent/pg_dump',
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'BACKUP_PG_DUMP_MISSING' });

    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const ok = await runCarve([
      'backup',
      '--plan',
      planFile,
      '--out',
      empty,
      '--jobs',
      '2',
      // The hint of BACKUP_PG_DUMP_MISSING, followed.
      '--pg-dump',
      clientTool('pg_dump'),
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const lines = ok.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: 'backup-result', dir: empty });
    expect(existsSync(join(empty, 'dump', 'toc.dat'))).toBe(true);
  });
});

describe('carve backup as a user who cannot read every moving table', () => {
  it('refuses before writing anything, and works once the hint is followed', async () => {
    await withClient(m.sourceUrl, (c) =>
      c.query(`CREATE ROLE bk_reader LOGIN REPLICATION PASSWORD 'bk-secret';
               GRANT SELECT ON patients, readings, readings_2024, readings_2025, "odd ""name""" TO bk_reader;`),
    );
    const url = new URL(m.sourceUrl);
    url.username = 'bk_reader';
    url.password = 'bk-secret';
    const routing = { ...m.routing, sourceUrl: url.toString() };
    const out = join(mkdtempSync(join(tmpdir(), 'carve-backup-ro-')), 'b');
    const refused = await backup({ routing, outDir: out }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BACKUP_NOT_READABLE', details: { user: 'bk_reader' } });
    const unreadable = (refused as { details: { tables: string[] } }).details.tables;
    expect(unreadable).toEqual(expect.arrayContaining(['"public"."visits"', 'public.patients_id_seq']));
    expect(existsSync(out)).toBe(false);
    // What the hint says, as the owner.
    await withClient(m.sourceUrl, (c) => c.query(`GRANT SELECT ON ${unreadable.join(', ')} TO "bk_reader"`));
    const done = await backup({ routing, outDir: out });
    expect(done.manifest.tables.find((t) => t.name === 'visits')?.rows).toBeGreaterThan(0);
    expect(done.manifest.schemaExcluded).toEqual([{ schema: 'public', name: 'not_moving' }]);
  });
});

describe('carve backup killed', () => {
  it('leaves no slot behind; the partial directory is refused until removed, as the hint says', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'carve-backup-kill-')), 'b');
    const { child, done } = spawnCarve([
      'backup',
      '--plan',
      planFile,
      '--out',
      out,
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('"backup-snapshot"')) child.kill('SIGKILL'); // at once: on an idle machine the whole backup fits in 150 ms
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    await waitFor(
      async () =>
        withClient(m.sourceUrl, async (c) =>
          Number(
            (await c.query(`SELECT count(*) AS n FROM pg_replication_slots WHERE temporary`)).rows[0].n,
          ) === 0
            ? true
            : undefined,
        ),
      { what: 'the temporary slot to go with its connection' },
    );
    // pg_dump processes of the killed run finish or fail on their own (their snapshot is gone).
    await waitFor(
      async () =>
        withClient(m.sourceUrl, async (c) =>
          Number(
            (await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pg_dump'`))
              .rows[0].n,
          ) === 0
            ? true
            : undefined,
        ),
      { what: 'the killed run’s pg_dump to end', timeoutMs: 60_000 },
    );
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    if (existsSync(out) && readdirSync(out).length > 0) {
      const again = await backup({ routing: m.routing, outDir: out }).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: 'BACKUP_OUT_NOT_EMPTY' });
      rmSync(out, { recursive: true, force: true });
    }
    const fine = await backup({ routing: m.routing, outDir: out });
    expect(fine.manifest.tables.length).toBe(6);
  });
});
