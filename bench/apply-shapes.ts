/**
 * Issue 15: what the *target backend* spends per change under different statement shapes for the
 * same net changes. No Node decoding is measured: every shape's inputs are built before its timing
 * starts, and only the CPU of the one backend that applies (from /proc/<pid>/stat) is reported.
 *
 * The table is a 6-column table like bench/sync.ts's observations (bigint key, bigint with a
 * secondary index, text, numeric, timestamptz, nullable text), seeded with SEED rows. Each run
 * applies the same BATCHES batches (one transaction each) of distinct-key net changes — whole-row
 * updates of existing rows, inserts of new rows, deletes of existing rows — which is what
 * PendingChanges hands the applier after collapsing:
 *
 * - `unnest`: the applier's statements before this branch (commit 8c2f6cb): DELETE … IN (SELECT
 *   unnest), UPDATE … FROM unnest, INSERT … SELECT unnest … ON CONFLICT DO UPDATE, one binary text[]
 *   parameter per column, 5,000 rows per statement, each value cast with its type's input function.
 * - `current`: apply-sql.ts as the applier runs it now: the same, rows taken in key order.
 * - `prepared`: `current` as named prepared statements.
 * - `stage-text`: COPY … FROM STDIN (FORMAT binary) of the rows into TEMP staging tables of text
 *   columns (a pgoutput text tuple re-framed: each 't' column is already Int32 length + bytes), then
 *   one DELETE … USING, one UPDATE … FROM, one INSERT … SELECT … ON CONFLICT per batch, casting.
 * - `stage-binary`: as stage-text, but the staging columns have the table's types and the values
 *   are in their binary send form (what pgoutput's `binary` option would send): no input functions.
 * - `writer`: the applier's RowWriter, each batch cut into flushes of PIECE rows.
 *
 * Rows come in random key order (a batch's collapsed rows come in the order their keys first
 * changed); SORTED=1 in key order.
 *
 * Command: `node --input-type=module -e "import('vite').then((v) => v.runnerImport('./bench/apply-shapes.ts'))"`
 * (env: SEED, BATCHES, BATCH, ROUNDS, SHAPES=comma list, SORTED, PIECE, ROWS_PER_STATEMENT, EXPLAIN).
 */
import { readFileSync } from 'node:fs';
import { startCluster } from '../src/cluster/local-cluster.js';
import { connect, type Client } from '../src/pg/connect.js';
import { deleteSql, updateSql, upsertSql } from '../src/sync/apply-sql.js';
import { rowColumns } from '../src/sync/row-columns.js';
import { RowWriter } from '../src/sync/row-writer.js';
import type { RoutePlan } from '../src/sync/route-plan.js';
import { loadAverage1m } from './lib/load-average.js';

const SEED = Number(process.env.SEED ?? 300_000);
const BATCHES = Number(process.env.BATCHES ?? 4);
/** Net changes per batch (the applier's default batch is 50,000 changes). */
const BATCH = Number(process.env.BATCH ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROWS_PER_STATEMENT = Number(process.env.ROWS_PER_STATEMENT ?? 5000);
const SHAPES = (process.env.SHAPES ?? 'unnest,current,prepared,stage-text,stage-binary,writer').split(',');
/** writer: rows per flush, as the applier's pieceChanges (10,000) cuts a batch. */
const PIECE = Number(process.env.PIECE ?? 10_000);
/**
 * Order of each batch's rows (and of the staging COPYs): random (default), as a batch's collapsed
 * rows come in the order their keys first changed; SORTED=1: key order, as a large UPDATE sends them.
 */
const ORDER = process.env.SORTED ? 'id' : 'random()';

const COLUMNS = [
  ['id', 'bigint'],
  ['patient_id', 'bigint'],
  ['code', 'text'],
  ['value', 'numeric(10,2)'],
  ['observed_at', 'timestamp with time zone'],
  ['note', 'text'],
] as const;

const plan = {
  route: { target: { schema: 'public', name: 'obs' }, source: { schema: 'public', name: 'obs' } },
  columns: COLUMNS.map(([name, type], index) => ({ target: name, source: name, type, index })),
  key: [0],
} as unknown as RoutePlan;

const SESSION = `SET session_replication_role = replica; SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET enable_hashjoin = off; SET enable_mergejoin = off; SET work_mem = '64MB'`;

/** One batch's net changes, in every input form the shapes need (built before timing). */
interface Batch {
  deletes: string[][];
  updates: string[][];
  inserts: string[][];
  /** COPY binary streams (header, tuples, trailer) of each kind: text columns, and typed values. */
  copyText: { deletes: Buffer; updates: Buffer; inserts: Buffer };
  copyBinary: { deletes: Buffer; updates: Buffer; inserts: Buffer };
}

const log = (line: string) => console.log(line);

function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function copyOut(client: Client, sql: string): Promise<Buffer> {
  const { to } = await import('pg-copy-streams');
  const stream = client.query(to(sql));
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function copyIn(client: Client, sql: string, data: Buffer): Promise<void> {
  const { from } = await import('pg-copy-streams');
  const stream = client.query(from(sql));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(data);
  });
}

/** The row expression of the changes table, as text or typed. */
const EXPRS = (id: string) => [
  id,
  `${id} % 100000 + 1`,
  `'LOINC-' || (${id} % 300)`,
  `((${id} * 7) % 1000) / 10.0`,
  `timestamptz '2024-01-01' + ${id} * interval '3 minutes'`,
  `CASE WHEN ${id} % 4 = 0 THEN NULL ELSE 'obs note ' || ${id} || ' v' || b END`,
];
const VALUES = (id: string) => EXPRS(id).join(', ');

async function buildBatches(admin: Client): Promise<Batch[]> {
  // Batch b: updates of existing ids, inserts of new ids, deletes of other existing ids; keys
  // distinct within a batch. Deleted ids are not touched again; inserted ids are new each batch.
  const updates = Math.round(BATCH * 0.6);
  const deletes = Math.round(BATCH * 0.15);
  const inserts = BATCH - updates - deletes;
  await admin.query(`DROP TABLE IF EXISTS changes; CREATE TABLE changes (b int, kind text, id bigint)`);
  for (let b = 0; b < BATCHES; b++) {
    await admin.query(
      `INSERT INTO changes SELECT $1, 'u', (g * 7919 + $1 * 104729) % ($2::bigint * 2 / 3) + 1 FROM generate_series(1, $3::int) g ON CONFLICT DO NOTHING`,
      [b, SEED, updates],
    );
    await admin.query(
      `INSERT INTO changes SELECT $1, 'd', $2::bigint * 2 / 3 + $1 * $3::int + g FROM generate_series(1, $3::int) g`,
      [b, SEED, deletes],
    );
    await admin.query(
      `INSERT INTO changes SELECT $1, 'i', $2::bigint * 10 + $1 * $3::int + g FROM generate_series(1, $3::int) g`,
      [b, SEED, inserts],
    );
  }
  const batches: Batch[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const rows = async (kind: string) =>
      (
        await admin.query({
          text: `SELECT ${EXPRS('id')
            .map((e) => `(${e})::text`)
            .join(
              ', ',
            )} FROM (SELECT DISTINCT id, b FROM changes WHERE b = $1 AND kind = $2) c ORDER BY ${ORDER}`,
          values: [b, kind],
          rowMode: 'array',
        })
      ).rows as string[][];
    const d = (await rows('d')).map((r) => [r[0]!]);
    const u = await rows('u');
    const i = await rows('i');
    const copy = async (kind: string, typed: boolean, keyOnly: boolean) => {
      const exprs = EXPRS('id');
      const select = (keyOnly ? exprs.slice(0, 1) : exprs).map((e, n) =>
        typed ? `(${e})::${COLUMNS[n]![1]}` : `(${e})::text`,
      );
      return copyOut(
        admin,
        `COPY (SELECT ${select.join(', ')} FROM (SELECT DISTINCT id, b FROM changes WHERE b = ${b} AND kind = '${kind}') c ORDER BY ${ORDER}) TO STDOUT (FORMAT binary)`,
      );
    };
    batches.push({
      deletes: d,
      updates: u,
      inserts: i,
      copyText: {
        deletes: await copy('d', false, true),
        updates: await copy('u', false, false),
        inserts: await copy('i', false, false),
      },
      copyBinary: {
        deletes: await copy('d', true, true),
        updates: await copy('u', true, false),
        inserts: await copy('i', true, false),
      },
    });
  }
  return batches;
}

async function resetTable(admin: Client): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS obs`);
  await admin.query(
    `CREATE TABLE obs (id bigint PRIMARY KEY, patient_id bigint NOT NULL, code text NOT NULL, value numeric(10,2),
       observed_at timestamptz NOT NULL, note text)`,
  );
  await admin.query(
    `INSERT INTO obs SELECT ${VALUES('g')} FROM generate_series(1, $1::int) g, (SELECT 0 AS b) z`,
    [SEED],
  );
  await admin.query(`CREATE INDEX ON obs (patient_id)`);
  await admin.query(`VACUUM ANALYZE obs`);
  await admin.query(`CHECKPOINT`);
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) yield rows.slice(i, i + ROWS_PER_STATEMENT);
}

/** Binary text[] parameter per column, as the applier binds them. */
function params(rows: string[][]): Buffer[] {
  return rowColumns(plan, rows);
}

const nonKey = COLUMNS.slice(1);
const stageSql = (typed: boolean) => {
  const cast = (n: number) => (typed ? '' : `::${COLUMNS[n]![1]}`);
  const sets = nonKey.map(([name], j) => `${name} = s.${name}${cast(j + 1)}`).join(', ');
  return {
    create: typed
      ? `CREATE TEMP TABLE IF NOT EXISTS stage_d (id bigint) ON COMMIT DELETE ROWS;
         CREATE TEMP TABLE IF NOT EXISTS stage_u (LIKE obs) ON COMMIT DELETE ROWS;
         CREATE TEMP TABLE IF NOT EXISTS stage_i (LIKE obs) ON COMMIT DELETE ROWS`
      : `CREATE TEMP TABLE IF NOT EXISTS stage_d (id text) ON COMMIT DELETE ROWS;
         CREATE TEMP TABLE IF NOT EXISTS stage_u (${COLUMNS.map(([n]) => `${n} text`).join(', ')}) ON COMMIT DELETE ROWS;
         CREATE TEMP TABLE IF NOT EXISTS stage_i (${COLUMNS.map(([n]) => `${n} text`).join(', ')}) ON COMMIT DELETE ROWS`,
    delete: `DELETE FROM obs t USING stage_d s WHERE t.id = s.id${cast(0)}`,
    update: `UPDATE obs t SET ${sets} FROM stage_u s WHERE t.id = s.id${cast(0)}`,
    insert: `INSERT INTO obs SELECT ${COLUMNS.map(([n], i) => `s.${n}${cast(i)}`).join(', ')} FROM stage_i s ON CONFLICT (id) DO UPDATE SET ${nonKey.map(([n]) => `${n} = EXCLUDED.${n}`).join(', ')}`,
  };
};

type Prepared = { deletes: Buffer[][]; updates: Buffer[][]; inserts: Buffer[][] };

/**
 * The applier's statements before rows were taken in key order (commit 8c2f6cb's apply-sql.ts for
 * this table), for `unnest`.
 */
const UNSORTED = (() => {
  const cols = COLUMNS.map(([n]) => n);
  const unnest = (n: number) =>
    `unnest(${Array.from({ length: n }, (_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${Array.from({ length: n }, (_, i) => `a${i}`).join(', ')})`;
  const casts = COLUMNS.map(([, type], i) => `u.a${i}::${type}`);
  return {
    delete: `DELETE FROM "public"."obs" WHERE ("id") IN (SELECT u.a0::bigint FROM ${unnest(1)})`,
    update: `UPDATE "public"."obs" AS t SET ${cols
      .slice(1)
      .map((c, j) => `"${c}" = ${casts[j + 1]}`)
      .join(', ')} FROM ${unnest(6)} WHERE t."id" = u.a0::bigint`,
    upsert: `INSERT INTO "public"."obs" (${cols.map((c) => `"${c}"`).join(', ')}) OVERRIDING SYSTEM VALUE SELECT ${casts.join(', ')} FROM ${unnest(6)} ON CONFLICT ("id") DO UPDATE SET ${cols
      .slice(1)
      .map((c) => `"${c}" = EXCLUDED."${c}"`)
      .join(', ')}`,
  };
})();

async function applyStatements(client: Client, pre: Prepared, shape: string): Promise<void> {
  const named = shape === 'prepared';
  const sql =
    shape === 'unnest'
      ? UNSORTED
      : { delete: deleteSql(plan), update: updateSql(plan), upsert: upsertSql(plan) };
  const q = (name: string, text: string, values: Buffer[]) =>
    client.query<Record<string, unknown>, unknown[]>(named ? { name, text, values } : { text, values });
  await client.query('BEGIN');
  // The applier binds delete keys as text[] literals (columnsOf); binary arrays here, as for the rows.
  for (const values of pre.deletes) await q('d', sql.delete, values);
  for (const values of pre.updates) {
    const result = await q('u', sql.update, values);
    if (result.rowCount !== values[0]!.readInt32BE(12)) throw new Error('update missed rows');
  }
  for (const values of pre.inserts) await q('i', sql.upsert, values);
  await client.query('COMMIT');
}

async function applyStaged(client: Client, batch: Batch, typed: boolean): Promise<void> {
  const sql = stageSql(typed);
  const copy = typed ? batch.copyBinary : batch.copyText;
  await client.query('BEGIN');
  await copyIn(client, `COPY stage_d FROM STDIN (FORMAT binary)`, copy.deletes);
  await client.query(sql.delete);
  await copyIn(client, `COPY stage_u FROM STDIN (FORMAT binary)`, copy.updates);
  const result = await client.query(sql.update);
  if (result.rowCount !== batch.updates.length) throw new Error('update missed rows');
  await copyIn(client, `COPY stage_i FROM STDIN (FORMAT binary)`, copy.inserts);
  await client.query(sql.insert);
  await client.query('COMMIT');
}

/**
 * writer: the applier's own RowWriter (src/sync/row-writer.ts), each batch cut into flushes of
 * PIECE rows of the same mix.
 */
async function applyWriter(client: Client, writer: RowWriter, batch: Batch): Promise<void> {
  const pieces = Math.max(
    1,
    Math.round((batch.deletes.length + batch.updates.length + batch.inserts.length) / PIECE),
  );
  const part = <T>(rows: T[], i: number) =>
    rows.slice(Math.floor((rows.length * i) / pieces), Math.floor((rows.length * (i + 1)) / pieces));
  await client.query('BEGIN');
  for (let i = 0; i < pieces; i++)
    await writer.write({
      plan,
      deletes: part(batch.deletes, i),
      updates: part(batch.updates, i),
      upserts: part(batch.inserts, i),
      patches: [],
    });
  await client.query('COMMIT');
}

async function main(): Promise<void> {
  const cluster = await startCluster({
    name: 'bench-apply-shapes',
    fsync: false,
    settings: { shared_buffers: '256MB', max_wal_size: '4GB', synchronous_commit: 'on' },
  });
  const admin = await connect(cluster.url());
  try {
    log(`load average ${loadAverage1m()}; building ${BATCHES} batches of ${BATCH} net changes`);
    const batches = await buildBatches(admin);
    const changes = batches.reduce((n, b) => n + b.deletes.length + b.updates.length + b.inserts.length, 0);
    const prepared: Prepared[] = batches.map((b) => ({
      deletes: [...chunks(b.deletes)].map((rows) => params(rows).slice(0, 1)),
      updates: [...chunks(b.updates)].map(params),
      inserts: [...chunks(b.inserts)].map(params),
    }));
    await resetTable(admin);
    const results = new Map<string, number[]>(SHAPES.map((s) => [s, []]));
    let fingerprint: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? SHAPES : [...SHAPES].reverse();
      for (const shape of order) {
        await resetTable(admin);
        const client = await connect(cluster.url());
        try {
          await client.query(SESSION);
          // EXPLAIN=1: the plans of every statement in the server log (printed at the end).
          if (process.env.EXPLAIN)
            await client.query(
              `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_level = WARNING; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off`,
            );
          if (shape.startsWith('stage')) await client.query(stageSql(shape === 'stage-binary').create);
          const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
          const counters = { refetched: 0, refetchMissing: 0 };
          const writer = new RowWriter(client, cluster.url(), 'apply-shapes', counters);
          const load = loadAverage1m();
          const cpu0 = cpuSeconds(pid);
          const t0 = process.hrtime.bigint();
          for (let b = 0; b < batches.length; b++) {
            if (shape.startsWith('writer')) await applyWriter(client, writer, batches[b]!);
            else if (shape === 'unnest' || shape === 'current' || shape === 'prepared')
              await applyStatements(client, prepared[b]!, shape);
            else await applyStaged(client, batches[b]!, shape === 'stage-binary');
          }
          const wall = Number(process.hrtime.bigint() - t0) / 1e9;
          const cpu = cpuSeconds(pid) - cpu0;
          const us = (cpu * 1e6) / changes;
          results.get(shape)!.push(us);
          const h = (
            await admin.query(
              `SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM obs t`,
            )
          ).rows[0]!.h as string;
          fingerprint ??= h;
          log(
            `round ${round + 1} ${shape.padEnd(12)} backend ${cpu.toFixed(2)} s CPU = ${us.toFixed(2)} µs/change; wall ${wall.toFixed(2)} s; load ${load}; ${h === fingerprint ? 'same rows' : `DIFFERENT rows ${h}`}`,
          );
        } finally {
          await client.end();
        }
      }
    }
    log(`\n${changes} net changes per run (${BATCHES} × ${BATCH}: 60% updates, 25% inserts, 15% deletes)`);
    log('| shape | backend CPU µs/change (median) | runs |');
    log('|---|---|---|');
    const base = median(results.get(SHAPES[0]!)!);
    for (const [shape, runs] of results) {
      const m = median(runs);
      log(
        `| ${shape} | ${m.toFixed(2)} (${(((m - base) / base) * 100).toFixed(0)}%) | ${runs.map((r) => r.toFixed(2)).join(', ')} |`,
      );
    }
    log(`load average at the end ${loadAverage1m()}`);
    if (process.env.EXPLAIN) log(readFileSync(cluster.logFile, 'utf8'));
  } finally {
    await admin.end();
    await cluster.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

await main();
