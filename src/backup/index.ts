import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clientTool } from '../cluster/binaries.js';
import { CarveError } from '../errors.js';
import { carveVersion } from '../version.js';
import { atMonolith, databaseOf, openSession, type Client } from '../pg/connect.js';
import { formatLsn } from '../pg/lsn.js';
import { replicationLiteral } from '../pg/replication/commands.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { redactText } from '../pg/redact.js';
import type { TableRef } from '../catalog/model.js';
import type { Routing } from '../routing/model.js';
import { monolithPoint } from '../verify/snapshot-pool.js';
import type { BackupManifest, BackupResult, BackupTable } from './events.js';
import type { BackupOptions } from './options.js';
import { exactTablePattern, hasTableData, runTool, tocEntries, toolConnection } from './pg-dump.js';
import { checkOutDir, checkPgDump } from './preflight.js';
import { recordBackup } from './state.js';

export type * from './events.js';
export type { BackupOptions } from './options.js';
export { readLatestBackup } from './state.js';

export const MANIFEST_FILE = 'manifest.json';
const DUMP_DIR = 'dump';
const SCHEMA_FILE = 'monolith-schema.sql';

/**
 * `carve backup`: a pg_dump -Fd of every moving table of the monolith (and of their partitions), at
 * an exact LSN, with a manifest, checked with pg_restore --list and recorded in the service
 * databases' state.
 *
 * The LSN is exact because the snapshot is the one exported by a temporary logical replication
 * slot: its consistent point is the LSN before which every transaction is visible in the snapshot
 * and after which none is (pg_export_snapshot() plus pg_current_wal_lsn() would be off by whatever
 * commits between the two). pg_dump and the row counts import that snapshot; the slot goes away
 * with its connection when the backup ends (or the process dies).
 */
export async function backup(options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const { routing } = options;
  const emit = options.onEvent ?? (() => {});
  const dir = resolve(options.outDir);
  const jobs = Math.max(1, Math.floor(options.jobs ?? 2));
  const app = options.applicationName ?? 'carve backup';
  checkOutDir(dir);
  const usualPgDump = toolPath('pg_dump');
  const pgDump = options.pgDump ?? usualPgDump;
  // pg_restore of the same installation as pg_dump.
  const pgRestore = pgDump.includes('/') ? join(dirname(pgDump), 'pg_restore') : toolPath('pg_restore');
  const tables = movingTables(routing);

  const session = await openSession(atMonolith(routing.sourceUrl), { applicationName: app });
  try {
    const server = (await session.query('SHOW server_version')).rows[0].server_version as string;
    const serverMajor = Number(
      (await session.query('SHOW server_version_num')).rows[0].server_version_num.slice(0, -4),
    );
    const pgDumpVersion = await checkPgDump(pgDump, serverMajor, usualPgDump);
    await checkReadable(session, tables);
    // pg_dump locks every table it dumps, even schema-only, which needs SELECT: the whole-schema
    // file leaves out the (non-moving) tables this user cannot read, and the manifest lists them.
    const unreadable = await unreadableTables(session);
    const existed = existsSync(dir);
    mkdirSync(dir, { recursive: true });
    let complete = false;

    const point = await monolithPoint(routing.sourceUrl, `${app} snapshot`).catch((error: unknown) => {
      removeIncomplete(dir, existed);
      throw error;
    });
    try {
      const lsn = formatLsn(point.lsn);
      const takenAt = new Date().toISOString();
      emit({ type: 'backup-snapshot', lsn });
      const connection = toolConnection(routing.sourceUrl);
      const dumpDir = join(dir, DUMP_DIR);
      const dumpStarted = Date.now();
      const [counts] = await allDone([
        countRows(session, point.snapshot, tables),
        dump(
          pgDump,
          [
            '--format=directory',
            `--jobs=${jobs}`,
            `--file=${dumpDir}`,
            `--snapshot=${point.snapshot}`,
            '--no-password',
            ...tables.flatMap((t) => ['--table', exactTablePattern(t.ref.schema, t.ref.name)]),
            `--dbname=${connection.dbname}`,
          ],
          connection.env,
        ),
        dump(
          pgDump,
          [
            '--schema-only',
            `--snapshot=${point.snapshot}`,
            ...unreadable.flatMap((t) => ['--exclude-table', exactTablePattern(t.schema, t.name)]),
            `--file=${join(dir, SCHEMA_FILE)}`,
            '--no-password',
            `--dbname=${connection.dbname}`,
          ],
          connection.env,
        ),
      ]);
      emit({ type: 'backup-dumped', seconds: (Date.now() - dumpStarted) / 1000 });

      const entries = await checkDump(pgRestore, dumpDir, tables, usualPgDump);
      emit({ type: 'backup-checked', tocEntries: entries });

      const manifest: BackupManifest = {
        format: 'carve-backup/1',
        migration: routing.names.migration,
        lsn,
        snapshotMethod: 'temporary logical slot (exported snapshot)',
        takenAt,
        finishedAt: new Date().toISOString(),
        carveVersion,
        pgDumpVersion: pgDumpVersion.text,
        serverVersion: server,
        database: databaseOf(routing.sourceUrl) ?? '',
        dump: DUMP_DIR,
        schema: SCHEMA_FILE,
        schemaExcluded: unreadable,
        jobs,
        tables: counts,
        tocEntries: entries,
      };
      // Written last, atomically: a directory without manifest.json is an interrupted backup.
      const manifestFile = join(dir, MANIFEST_FILE);
      writeFileSync(`${manifestFile}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${manifestFile}.tmp`, manifestFile);
      complete = true;

      const recordedIn = await recordBackup(routing, {
        path: dir,
        lsn,
        takenAt,
        tables: counts.filter((t) => !t.partitionOf).length,
        rows: counts.filter((t) => !t.partitionOf).reduce((sum, t) => sum + t.rows, 0),
      });
      emit({ type: 'backup-recorded', databases: recordedIn });
      return { dir, manifestFile, manifest, seconds: (Date.now() - started) / 1000, recordedIn };
    } finally {
      await point.close();
      // The directory was empty or new: whatever is in it of a failed backup is ours to remove,
      // so running the command again just works.
      if (!complete) removeIncomplete(dir, existed);
    }
  } finally {
    await session.end().catch(() => {});
  }
}

/** Like Promise.all, but waits for every task (no pg_dump still writing when the directory is removed). */
async function allDone<T extends readonly unknown[]>(tasks: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function removeIncomplete(dir: string, existed: boolean): void {
  if (!existed) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

async function unreadableTables(client: Client): Promise<TableRef[]> {
  const { rows } = await client.query(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT')
                     ELSE pg_catalog.has_table_privilege(c.oid, 'SELECT') END
      ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ schema: r.schema as string, name: r.name as string }));
}

/** pg_dump would fail midway on a table carve's monolith user cannot read: say so before. */
async function checkReadable(client: Client, tables: MovingTable[]): Promise<void> {
  const names = tables.map((t) => quoteQualified(t.ref.schema, t.ref.name));
  // The tables, and the sequences they own (pg_dump dumps those with them, reading them).
  const { rows } = await client.query(
    `SELECT name FROM (
       SELECT t AS name, pg_catalog.has_table_privilege(t::regclass, 'SELECT') AS readable
         FROM unnest($1::text[]) AS t
       UNION ALL
       -- CASE: the planner may test the privilege before the join keeps only sequences, and
       -- has_sequence_privilege fails on the table's other dependents (its TOAST table, an index).
       SELECT d.objid::regclass::text,
              CASE WHEN s.relkind = 'S' THEN pg_catalog.has_sequence_privilege(d.objid, 'SELECT') ELSE true END
         FROM unnest($1::text[]) AS t
         JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t::regclass
                                    AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
         JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S') x
      WHERE NOT readable`,
    [names],
  );
  if (rows.length === 0) return;
  const user = (await client.query('SELECT current_user AS u')).rows[0].u as string;
  const unreadable = rows.map((r) => r.name as string);
  throw new CarveError(
    'BACKUP_NOT_READABLE',
    `carve's monolith user ${user} cannot read ${unreadable.join(', ')}`,
    {
      details: { user, tables: unreadable },
      hint: `As the tables' owner or a superuser on the monolith, GRANT SELECT ON ${unreadable.join(', ')} TO ${quoteIdent(user)}, then run carve backup again.`,
    },
  );
}

interface MovingTable {
  ref: TableRef;
  partitionOf?: TableRef;
}

/** Every monolith table a route reads (owners and projections share it), then its partitions. */
export function movingTables(routing: Routing): MovingTable[] {
  const seen = new Set<string>();
  const out: MovingTable[] = [];
  const add = (ref: TableRef, partitionOf?: TableRef) => {
    const key = `${ref.schema}\u0000${ref.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ref: { schema: ref.schema, name: ref.name }, ...(partitionOf ? { partitionOf } : {}) });
  };
  for (const route of routing.routes) add(route.source);
  for (const route of routing.routes) {
    for (const p of route.partitionTree ?? []) add(p.table, route.source);
    for (const p of route.sourcePartitions) add(p, route.source);
  }
  return out;
}

async function countRows(client: Client, snapshot: string, tables: MovingTable[]): Promise<BackupTable[]> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT ${replicationLiteral(snapshot)}`);
    const out: BackupTable[] = [];
    for (const t of tables) {
      // ONLY: a partition's own rows; the parent's count (without ONLY) covers all its partitions.
      const only = t.partitionOf ? 'ONLY ' : '';
      const { rows } = await client.query(
        `SELECT count(*)::bigint AS n FROM ${only}${quoteQualified(t.ref.schema, t.ref.name)}`,
      );
      out.push({
        ...t.ref,
        rows: Number(rows[0].n),
        ...(t.partitionOf ? { partitionOf: t.partitionOf } : {}),
      });
    }
    return out;
  } finally {
    await client.query('COMMIT').catch(() => {});
  }
}

async function dump(pgDump: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const run = await runTool(pgDump, args, env);
  if (run.code !== 0)
    throw new CarveError(
      'BACKUP_DUMP_FAILED',
      `pg_dump failed (exit ${run.code}): ${redactText(run.stderr.trim())}`,
      {
        details: { exitCode: run.code, stderr: redactText(run.stderr.trim()).slice(0, 2000) },
        hint: "Read pg_dump's message above: a full disk, a missing privilege (carve's monolith user must be able to read every moving table), or the monolith refusing pg_dump more connections (it opens --jobs + 2 of them: run with a lower --jobs, e.g. --jobs 1) are the usual causes. Then run carve backup again (the incomplete backup was removed).",
      },
    );
}

/** pg_restore --list must read the dump and find every moving table's data in it. */
async function checkDump(
  pgRestore: string,
  dumpDir: string,
  tables: MovingTable[],
  usualPgDump: string,
): Promise<number> {
  const run = await runTool(pgRestore, ['--list', dumpDir], process.env);
  const entries = run.code === 0 ? tocEntries(run.stdout) : [];
  const missing = tables
    // A partitioned parent holds no data of its own: its rows are in its partitions' entries.
    .filter(
      (t) =>
        !tables.some(
          (o) => o.partitionOf && o.partitionOf.schema === t.ref.schema && o.partitionOf.name === t.ref.name,
        ),
    )
    .filter((t) => !hasTableData(entries, t.ref.schema, t.ref.name))
    .map((t) => `${t.ref.schema}.${t.ref.name}`);
  if (run.code !== 0 || missing.length > 0)
    throw new CarveError(
      'BACKUP_CHECK_FAILED',
      run.code !== 0
        ? `pg_restore --list cannot read the dump in ${dumpDir}: ${run.stderr.trim()}`
        : `The dump in ${dumpDir} lacks the data of ${missing.join(', ')}`,
      {
        details: { dumpDir, missing, exitCode: run.code },
        hint: `The backup was not usable and was removed. If pg_restore's message says it cannot read the dump, ${pgRestore} is not of pg_dump's version: carve takes pg_restore from beside --pg-dump, so pass a --pg-dump whose directory holds both${usualPgDump.includes('/') ? ` (e.g. ${usualPgDump}, beside this machine's server)` : ''}; otherwise check the disk. Then run carve backup again.`,
      },
    );
  return entries.length;
}

function toolPath(name: string): string {
  try {
    return clientTool(name);
  } catch {
    return name; // no server binaries found: $PATH
  }
}
