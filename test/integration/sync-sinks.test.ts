import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { parseLsn, type Lsn } from '../../src/pg/lsn.js';
import { pgTimestampToIso } from '../../src/pg/replication/pg-time.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import type { SyncEvent, TargetLag } from '../../src/sync/events.js';
import { decodePgoutput, type PgoutputMessage } from '../../src/sync/pgoutput/index.js';
import {
  ORIGIN_FUNCTIONS,
  replicationOriginName,
  setUpReplicationOrigin,
} from '../../src/sync/replication-origin.js';
import { SyncState } from '../../src/sync/state.js';
import { waitFor } from '../support/cluster.js';
import { MemoryStore, memorySink, type RecordedTransaction } from '../support/memory-sink.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * A second destination beside the service databases: an in-memory sink (a real Sink, see
 * test/support/memory-sink.ts) that records every transaction and keeps its durable position in a
 * store that outlives the engine. The slot is acknowledged with the minimum over all sinks; a sink
 * that is behind gets exactly the transactions after its durable position again after a restart,
 * while the appliers, already past them, skip them.
 */

const MONOLITH = `
  CREATE TABLE patients (id bigint PRIMARY KEY, name text NOT NULL, note text);
  CREATE TABLE visits (id bigint PRIMARY KEY, patient_id bigint, reason text);
  INSERT INTO patients SELECT g, 'p' || g, 'n' || g FROM generate_series(1, 50) g;
  INSERT INTO visits SELECT g, g % 50 + 1, 'r' || g FROM generate_series(1, 80) g;
`;

const PLAN = `
services:
  patient:
    database: patient_db
    tables:
      patients:
  clinical:
    database: clinical_db
    tables:
      visits:
projections:
  - from: patients
    to: clinical.patient_names
    columns: [id, name]
`;

let m: Migration;
let engine: SyncEngine | undefined;

function url(database: string): string {
  return m.routing.services.find((s) => s.database === database)!.url;
}

/** The admin's URL of a service database (carve itself logs in as carve's role: docs/security.md). */
function adminUrl(database: string): string {
  return m.routing.services.find((s) => s.database === database)!.adminUrl;
}

/** Run statements in one monolith transaction; returns its xid and the WAL position after its commit. */
async function monolithTxn(sql: string[], setup: string[] = []): Promise<{ xid: number; after: Lsn }> {
  return withClient(m.sourceUrl, async (c) => {
    for (const statement of setup) await c.query(statement);
    await c.query('BEGIN');
    for (const statement of sql) await c.query(statement);
    const { rows } = await c.query(`SELECT (pg_current_xact_id()::text::bigint % 4294967296)::int AS xid`);
    await c.query('COMMIT');
    const after = (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
    return { xid: rows[0].xid as number, after: parseLsn(after) };
  });
}

async function confirmedFlush(): Promise<Lsn> {
  return withClient(m.sourceUrl, async (c) => {
    const { rows } = await c.query(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [m.routing.names.slot],
    );
    return parseLsn(rows[0].lsn);
  });
}

function appliers(status: TargetLag[]): TargetLag[] {
  return status.filter((t) => t.kind === 'applier');
}

function dataTxns(txns: RecordedTransaction[]): RecordedTransaction[] {
  return txns.filter((t) => t.changes.length > 0);
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('sync-sinks');
  m = await prepareMigration(clusters, { name: 'sinks', monolithSql: MONOLITH, planBody: PLAN });
  await runCopy(m.routing);
});

afterEach(async () => {
  await engine?.stop().catch(() => undefined);
  engine = undefined;
});

describe('sinks beside the service databases', () => {
  it('acknowledges the minimum over all sinks and replays to a sink exactly what it had not made durable', async () => {
    const state = new SyncState(m.routing.names.stateSchema, m.routing.names.migration);
    const start = await withClient(url('patient_db'), async (c) => (await state.readPosition(c)).lsn);
    const store = new MemoryStore(start);
    const events: SyncEvent[] = [];
    engine = await startSync({
      routing: m.routing,
      sinks: [memorySink(store)],
      onEvent: (e) => events.push(e),
      lagIntervalMs: 100,
    });

    // A: three transactions, the last one written under another tool's replication origin.
    const t1 = await monolithTxn([
      `INSERT INTO patients VALUES (1001, 'new', 'note')`,
      `INSERT INTO visits VALUES (1001, 1001, 'first')`,
    ]);
    const t2 = await monolithTxn([`UPDATE patients SET name = 'renamed' WHERE id = 1`]);
    await withClient(m.sourceUrl, (c) => c.query(`SELECT pg_replication_origin_create('other tool')`));
    const t3 = await monolithTxn(
      [
        `SELECT pg_replication_origin_xact_setup('0/ABCDEF', now())`,
        `INSERT INTO patients VALUES (1002, 'replicated', NULL)`,
      ],
      [`SELECT pg_replication_origin_session_setup('other tool')`],
    );
    await engine.waitForCatchUp(); // every sink, the memory sink included

    const a = dataTxns(store.committed);
    expect(a.map((t) => t.xid)).toEqual([t1.xid, t2.xid, t3.xid]);
    expect(a.map((t) => t.origin)).toEqual([null, null, { name: 'other tool', lsn: '0/ABCDEF' }]);
    // Every routed change with its route, target table and values: the owner and the projection.
    expect(a[0]!.changes).toEqual([
      {
        kind: 'upsert',
        route: expect.any(String),
        database: 'patient_db',
        table: 'public.patients',
        key: '1001',
        values: { id: '1001', name: 'new', note: 'note' },
      },
      {
        kind: 'upsert',
        route: expect.any(String),
        database: 'clinical_db',
        table: 'public.patient_names',
        key: '1001',
        values: { id: '1001', name: 'new' },
      },
      {
        kind: 'upsert',
        route: expect.any(String),
        database: 'clinical_db',
        table: 'public.visits',
        key: '1001',
        values: { id: '1001', patient_id: '1001', reason: 'first' },
      },
    ]);
    expect(a[1]!.changes.map((c) => [c.database, c.table, c.values?.name])).toEqual([
      ['patient_db', 'public.patients', 'renamed'],
      ['clinical_db', 'public.patient_names', 'renamed'],
    ]);
    for (const t of a) expect(parseLsn(t.endLsn)).toBeGreaterThan(parseLsn(t.commitLsn));
    const p1 = store.durable;
    expect(p1).toBeGreaterThanOrEqual(parseLsn(a[2]!.endLsn));
    await waitFor(async () => (await confirmedFlush()) === p1, { what: 'slot acknowledged at P1' });

    // B: the memory sink stops making anything durable; the appliers go on.
    store.stall();
    const t4 = await monolithTxn([`UPDATE patients SET note = 'b1' WHERE id = 2`]);
    const t5 = await monolithTxn([
      `INSERT INTO visits VALUES (1002, 2, 'b2')`,
      `DELETE FROM patients WHERE id = 3`,
    ]);
    await waitFor(() => appliers(engine!.status()).every((t) => parseLsn(t.appliedLsn) >= t5.after), {
      what: 'appliers past B',
    });
    const behind = engine.status().find((t) => t.kind === 'memory')!;
    expect(parseLsn(behind.appliedLsn)).toBe(p1);
    // The slot stays at the minimum: the memory sink's position, not the appliers'.
    await waitFor(
      () =>
        events.some(
          (e) => e.type === 'lag' && appliers(e.targets).every((t) => parseLsn(t.appliedLsn) >= t5.after),
        ),
      {
        what: 'a lag event after B',
      },
    );
    expect(await confirmedFlush()).toBe(p1);
    const lastLag = events.filter((e) => e.type === 'lag').at(-1)!;
    expect(lastLag.type === 'lag' && parseLsn(lastLag.acknowledgedLsn)).toBe(p1);
    const caughtUp = await Promise.race([
      engine.waitForCatchUp(t5.after).then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 500)),
    ]);
    expect(caughtUp).toBe(false);
    // Delivered so far: T4, stuck in a commit that does not return; T5 waits in the sink's queue.
    const delivered = dataTxns(store.sessions[0]!).filter((t) => parseLsn(t.commitLsn) >= p1);
    expect(delivered.map((t) => t.xid)).toEqual([t4.xid]);
    expect(store.committed.filter((t) => parseLsn(t.commitLsn) >= p1)).toEqual([]);

    // Restart: the stream starts at the minimum (P1); the memory sink gets exactly B again, the
    // appliers skip it.
    await engine.stop();
    expect(await confirmedFlush()).toBe(p1);
    store.resume();
    const appliedBefore = appliers(engine.status());
    const events2: SyncEvent[] = [];
    engine = await startSync({
      routing: m.routing,
      sinks: [memorySink(store)],
      onEvent: (e) => events2.push(e),
      lagIntervalMs: 100,
    });
    const started = events2.find((e) => e.type === 'stream-started');
    expect(started?.type === 'stream-started' && parseLsn(started.startLsn)).toBe(p1);
    await engine.waitForCatchUp(t5.after);
    const replayed = dataTxns(store.sessions[1]!);
    expect(replayed.map((t) => t.xid)).toEqual([t4.xid, t5.xid]);
    expect(replayed[0]).toEqual(delivered[0]);
    expect(store.sessions[1]!.every((t) => parseLsn(t.commitLsn) >= p1)).toBe(true);
    expect(dataTxns(store.committed).map((t) => t.xid)).toEqual([t1.xid, t2.xid, t3.xid, t4.xid, t5.xid]);
    // The appliers applied nothing again (no batch of changes) and stand where they stood.
    expect(events2.filter((e) => e.type === 'batch-applied' && e.database !== 'memory')).toEqual([]);
    for (const before of appliedBefore) {
      const now = appliers(engine.status()).find((t) => t.database === before.database)!;
      expect(parseLsn(now.appliedLsn)).toBeGreaterThanOrEqual(parseLsn(before.appliedLsn));
      expect(now.totalTransactions).toBe(0);
    }
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
    await waitFor(async () => (await confirmedFlush()) >= parseLsn(replayed[1]!.endLsn), {
      what: 'slot acknowledged past B',
    });

    // New writes reach every sink once.
    const t6 = await monolithTxn([`UPDATE visits SET reason = 'c' WHERE id = 1002`]);
    await engine.waitForCatchUp(t6.after);
    expect(
      dataTxns(store.committed)
        .map((t) => t.xid)
        .slice(-1),
    ).toEqual([t6.xid]);
    expect(
      events2.filter((e) => e.type === 'batch-applied' && e.database === 'clinical_db').length,
    ).toBeGreaterThan(0);
    expect(await mismatchedRoutes(m.routing)).toEqual([]);

    // A hold applies to the memory sink like to the appliers: it stops exactly there, durably.
    const current = async () =>
      withClient(m.sourceUrl, async (c) =>
        parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l),
      );
    const held = await engine.holdAt(current);
    expect(store.durable).toBe(held);
    expect(engine.status().every((t) => t.held && parseLsn(t.appliedLsn) === held)).toBe(true);
    const t7 = await monolithTxn([`UPDATE patients SET note = 'after the hold' WHERE id = 4`]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.sessions[1]!.map((t) => t.xid)).not.toContain(t7.xid);
    engine.release();
    await engine.waitForCatchUp(t7.after);
    expect(
      dataTxns(store.committed)
        .map((t) => t.xid)
        .slice(-1),
    ).toEqual([t7.xid]);
    await engine.stop();
    engine = undefined;
  });

  it('a failing sink stops sync with SYNC_SINK_FAILED naming it; its position holds the slot', async () => {
    const store = new MemoryStore(await confirmedFlush());
    store.failNext = new Error('disk full');
    const only = (route: { database: string }) => route.database === 'clinical_db';
    engine = await startSync({ routing: m.routing, sinks: [memorySink(store, 'audit log', only)] });
    const t = await monolithTxn([`UPDATE visits SET reason = 'd' WHERE id = 1`]);
    const error = await engine.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCarveError(error, 'SYNC_SINK_FAILED')).toBe(true);
    expect(isCarveError(error) && error.details).toEqual({ sink: 'audit log', kind: 'memory' });
    // The appliers applied it, the failed sink did not: the slot was not acknowledged past it.
    expect(store.committed).toEqual([]);
    expect(await confirmedFlush()).toBeLessThan(t.after);
    // The hint, followed: the cause fixed in that destination (failNext was one failure), sync
    // run again: the sink gets the transaction from the position it kept.
    expect((error as { hint: string }).hint).toContain('run carve sync again');
    engine = await startSync({ routing: m.routing, sinks: [memorySink(store, 'audit log', only)] });
    await engine.waitForCatchUp(t.after);
    expect(dataTxns(store.committed).map((c) => c.xid)).toContain(t.xid);
    await engine.stop();
    engine = undefined;
  });
});

describe('replication origins', () => {
  it("marks carve's transactions in a service database with carve's origin; an application's write has none", async () => {
    const probe = adminUrl('patient_db');
    await withClient(probe, async (c) => {
      await c.query(`CREATE TABLE app_notes (id int PRIMARY KEY, body text)`);
      await c.query(`CREATE PUBLICATION origin_probe FOR TABLE public.patients, public.app_notes`);
      await c.query(`SELECT pg_create_logical_replication_slot('origin_probe', 'pgoutput')`);
    });
    const store = new MemoryStore(await confirmedFlush());
    engine = await startSync({ routing: m.routing, sinks: [memorySink(store)] });
    const t = await monolithTxn([`UPDATE patients SET note = 'from the monolith' WHERE id = 10`]);
    await engine.waitForCatchUp(t.after);
    await withClient(probe, (c) => c.query(`INSERT INTO app_notes VALUES (1, 'written by the application')`));

    const origin = replicationOriginName('sinks', 'fwd', 'patient_db');
    expect(origin).toBe('carve_sinks_fwd_patient_db');
    const transactions = await withClient(probe, async (c) => {
      const { rows } = await c.query(
        `SELECT data FROM pg_logical_slot_get_binary_changes('origin_probe', NULL, NULL,
           'proto_version', '1', 'publication_names', 'origin_probe')`,
      );
      const txns: PgoutputMessage[][] = [];
      for (const row of rows) {
        const message = decodePgoutput(row.data as Buffer);
        if (message.tag === 'begin') txns.push([]);
        txns.at(-1)!.push(message);
      }
      return txns;
    });
    const carve = transactions.find((t) => t.some((msg) => msg.tag === 'update'))!;
    const app = transactions.find((t) => t.some((msg) => msg.tag === 'insert'))!;
    expect(carve[0]!.tag).toBe('begin');
    expect(carve[1]).toMatchObject({ tag: 'origin', name: origin });
    // The origin position is the source position of the batch; its commit time the source's.
    const position = await withClient(probe, async (c) => {
      const { rows } = await c.query(
        `SELECT pg_replication_origin_progress($1, true)::text AS origin, (SELECT lsn::text FROM carve.apply_position) AS applied`,
        [origin],
      );
      return rows[0] as { origin: string; applied: string };
    });
    expect(position.origin).toBe(position.applied);
    const originLsn = carve[1]!.tag === 'origin' ? carve[1]!.originLsn : 0n;
    expect(originLsn).toBeGreaterThan(parseLsn(dataTxns(store.committed).at(-1)!.commitLsn));
    const begin = carve[0]!.tag === 'begin' ? carve[0]! : undefined;
    expect(pgTimestampToIso(begin!.commitTime)).toBe(dataTxns(store.committed).at(-1)!.commitTime);
    expect(app.some((msg) => msg.tag === 'origin')).toBe(false);

    // Both service databases share a server: each applier has its own origin, set up at once.
    const names = await withClient(probe, async (c) => {
      const { rows } = await c.query(`SELECT roname FROM pg_replication_origin ORDER BY roname`);
      return rows.map((r) => r.roname as string);
    });
    expect(names).toEqual(['carve_sinks_fwd_clinical_db', 'carve_sinks_fwd_patient_db']);
    await engine.stop();
    engine = undefined;
    await withClient(probe, (c) => c.query(`SELECT pg_drop_replication_slot('origin_probe')`));
  });

  it('needs EXECUTE on three functions as a non-superuser; an origin in use by another session is SYNC_ORIGIN_BUSY', async () => {
    const admin = adminUrl('clinical_db');
    await withClient(admin, (c) =>
      c.query(
        `CREATE ROLE origin_user LOGIN PASSWORD 'origin pw'; GRANT CONNECT ON DATABASE clinical_db TO origin_user`,
      ),
    );
    const asUser = new URL(admin);
    asUser.username = 'origin_user';
    asUser.password = 'origin pw';
    const setUp = () =>
      withClient(asUser.toString(), (c) =>
        setUpReplicationOrigin(c, 'carve_grants_fwd_clinical_db', { database: 'clinical_db' }),
      );
    const refused = await setUp().catch((e: unknown) => e);
    expect(isCarveError(refused, 'SYNC_ORIGIN_PRIVILEGE')).toBe(true);
    expect(isCarveError(refused) && refused.details).toEqual({
      database: 'clinical_db',
      origin: 'carve_grants_fwd_clinical_db',
      functions: [...ORIGIN_FUNCTIONS],
    });
    // What the hint says to run is enough.
    await withClient(admin, (c) =>
      c.query(`GRANT EXECUTE ON FUNCTION ${ORIGIN_FUNCTIONS.join(', ')} TO origin_user`),
    );
    const holder = await connect(asUser.toString());
    try {
      await setUpReplicationOrigin(holder, 'carve_grants_fwd_clinical_db', { database: 'clinical_db' });
      await holder.query(`SELECT pg_replication_origin_xact_setup('0/10', now()) FROM (SELECT 1) AS one`);
      const busy = await withClient(asUser.toString(), (c) =>
        setUpReplicationOrigin(c, 'carve_grants_fwd_clinical_db', { database: 'clinical_db', waitMs: 300 }),
      ).catch((e: unknown) => e);
      expect(isCarveError(busy, 'SYNC_ORIGIN_BUSY')).toBe(true);
    } finally {
      await holder.end();
    }
    // Once the holder's session is gone, the origin is free again (set up within the wait).
    await setUp();
    await withClient(admin, (c) =>
      c.query(`SELECT pg_replication_origin_drop('carve_grants_fwd_clinical_db')`),
    );
  });
});
