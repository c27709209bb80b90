import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancel,
  complete,
  cutover,
  FROZEN_SQLSTATE,
  readServicePhases,
  rollback,
  type CutoverEvent,
} from '../../src/cutover/index.js';
import { isCarveError } from '../../src/errors.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { startReverseSync, waitReverseApplied, type ReverseEngine } from '../../src/reverse/index.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { verify } from '../../src/verify/index.js';
import { waitFor } from '../support/cluster.js';
import {
  CUTOVER_MONOLITH,
  CUTOVER_PLAN,
  monolithFootprint,
  visitLoad,
  writeError,
} from '../support/cutover-fixture.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * Cutover and rollback of one service (library API) while a write load keeps writing another
 * service's table on the monolith, beside a running forward sync and reverse stream (as `carve
 * sync` runs them): frozen tables refuse writes with the documented SQLSTATE, both sides match to
 * the row, an insert by DEFAULT in the service database never collides, and rollback gives the
 * writes back to the monolith. A refused pre-check changes nothing on the monolith.
 */
let m: Migration;
let sync: SyncEngine | undefined;
let reverse: ReverseEngine | undefined;

beforeAll(async () => {
  const clusters = await useMigrationClusters('cutover');
  m = await prepareMigration(clusters, {
    name: 'cut',
    monolithSql: CUTOVER_MONOLITH,
    planBody: CUTOVER_PLAN,
  });
  await runCopy(m.routing);
}, 120_000);

afterAll(async () => {
  await reverse?.stop().catch(() => {});
  await sync?.stop().catch(() => {});
});

/** Routes that differ, leaving out visits while the load writes it. */
async function quietMismatches(): Promise<unknown[]> {
  return (await mismatchedRoutes(m.routing)).filter((r) => !r.route.endsWith('.visits'));
}

const patientDb = () => m.routing.services.find((s) => s.name === 'patient')!;

async function caughtUp(): Promise<void> {
  await sync!.waitForCatchUp();
  const service = patientDb();
  const lsn = await withClient(
    service.adminUrl,
    async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l,
  );
  const phase = (await readServicePhases(m.routing)).find((p) => p.service === 'patient')!.phase;
  if (phase === 'cut-over') await waitReverseApplied(m.routing, 'patient', lsn, 20_000);
  await sync!.waitForCatchUp();
}

describe('cutover and rollback under load', () => {
  it('refuses an unknown service and a dirty verify without touching the monolith', async () => {
    const before = await monolithFootprint(m.routing);
    await expect(cutover({ routing: m.routing, service: 'nope' })).rejects.toMatchObject({
      code: 'CUTOVER_UNKNOWN_SERVICE',
    });
    // A row that differs in the service database: the pre-check verify refuses.
    await withClient(patientDb().adminUrl, (c) =>
      c.query(`UPDATE patients SET name = 'tampered' WHERE id = 7`),
    );
    const error = await cutover({ routing: m.routing, service: 'patient' }).catch((e: unknown) => e);
    expect(isCarveError(error, 'CUTOVER_VERIFY_FAILED')).toBe(true);
    expect(await monolithFootprint(m.routing)).toEqual(before);
    await withClient(patientDb().adminUrl, (c) =>
      c.query(`UPDATE patients SET name = 'patient 7' WHERE id = 7`),
    );
  }, 120_000);

  it('gives up the freeze when a long transaction keeps writing, and its hint finds that writer', async () => {
    const before = await monolithFootprint(m.routing);
    const writer = await connect(m.sourceUrl);
    try {
      // A writer's lock, taken without a transaction id: an UPDATE's xid would also hold the
      // pre-check verify's slot creation (it waits for running transactions), not just the freeze.
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE patients IN ROW EXCLUSIVE MODE');
      const error = await cutover({ routing: m.routing, service: 'patient', timeoutMs: 2000 }).catch(
        (e: unknown) => e,
      );
      expect(isCarveError(error, 'CUTOVER_FREEZE_LOCK_TIMEOUT'), String(error)).toBe(true);
      // Nothing was frozen: the monolith is as before and takes writes to the service's tables.
      expect(await monolithFootprint(m.routing)).toEqual(before);
      await withClient(m.sourceUrl, (c) => c.query(`UPDATE patients SET name = name WHERE id = 4`));
      // Following the hint: its query names the long-running writer…
      const hint = (error as { hint?: string }).hint ?? '';
      const query = /\((SELECT [^)]*)\)/.exec(hint)?.[1];
      expect(query, hint).toBeDefined();
      const writerPid = (await writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const found = await withClient(m.sourceUrl, (c) => c.query<{ pid: number }>(query!));
      expect(found.rows.map((r) => r.pid)).toContain(writerPid);
      // …and once it finishes, the cutover goes through (the next test cuts patient over).
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
  }, 120_000);

  it('dry run prints every step and its SQL and writes nothing', async () => {
    const before = await monolithFootprint(m.routing);
    const events: CutoverEvent[] = [];
    await cutover({ routing: m.routing, service: 'patient', dryRun: true, onEvent: (e) => events.push(e) });
    const planned = events.find((e) => e.type === 'planned');
    expect(planned?.type === 'planned' && planned.steps.map((s) => s.step)).toEqual([
      'pre-checks',
      'freeze',
      'drain',
      'verify',
      'sequences',
      'journal',
      'reverse',
      'unfreeze-service',
      'switch',
    ]);
    const freeze = planned?.type === 'planned' ? planned.steps.find((s) => s.step === 'freeze')! : undefined;
    expect(freeze?.sql.join('\n')).toContain('IN EXCLUSIVE MODE');
    expect(freeze?.sql.join('\n')).toContain('table patients moved to patient_db');
    expect(await monolithFootprint(m.routing)).toEqual(before);
  }, 60_000);

  it('cuts patient over while clinical is written, then rolls it back', async () => {
    sync = await startSync({ routing: m.routing });
    reverse = await startReverseSync({ routing: m.routing });
    const load = visitLoad(m.sourceUrl);
    try {
      const events: CutoverEvent[] = [];
      const result = await cutover({
        routing: m.routing,
        service: 'patient',
        lockWaitMs: 0, // the sync started above surely runs: no wait for a dying one's lock
        onSwitch:
          'test "$CARVE_SERVICE" = patient && test "$CARVE_DATABASE" = patient_db && test -n "$CARVE_DRAIN_LSN"',
        onEvent: (e) => events.push(e),
      });
      expect(result).toMatchObject({ service: 'patient', alreadyDone: false, verify: { ok: true } });
      expect(result.unavailableSeconds).toBeGreaterThan(0);
      expect(result.unavailableSeconds).toBeLessThan(result.seconds);
      expect(result.reverse?.slot).toBeTruthy();

      // The monolith refuses writes to patient's tables, with the documented SQLSTATE; reads work.
      const refused = await writeError(
        m.sourceUrl,
        `INSERT INTO patients (hospital_id, name) VALUES (1, 'late')`,
      );
      expect(refused).toEqual({ code: FROZEN_SQLSTATE, message: 'table patients moved to patient_db' });
      expect(await writeError(m.sourceUrl, `DELETE FROM documents WHERE id = 1`)).toMatchObject({
        code: FROZEN_SQLSTATE,
      });
      expect(await writeError(m.sourceUrl, 'SELECT count(*) FROM patients')).toBeNull();
      expect(await writeError(m.sourceUrl, `INSERT INTO visits (patient_id) VALUES (1)`)).toBeNull();

      // The service writes its own database: ids by DEFAULT never collide with the monolith's.
      const inserted = await withClient(patientDb().adminUrl, async (c) => {
        const rows = [];
        for (let i = 0; i < 20; i++)
          rows.push(
            (await c.query(`INSERT INTO patients (hospital_id, name) VALUES (2, 'new ${i}') RETURNING id`))
              .rows[0].id,
          );
        await c.query(`UPDATE patients SET name = 'renamed' WHERE id = 11`);
        return rows.map(Number);
      });
      const monolithMax = await withClient(m.sourceUrl, async (c) =>
        Number((await c.query('SELECT max(id) AS m FROM patients')).rows[0].m),
      );
      expect(Math.min(...inserted)).toBeGreaterThan(2000);

      // The running reverse engine picks the new registration up within a second.
      const phases = await waitFor(
        async () => {
          const all = await readServicePhases(m.routing);
          return all.find((p) => p.service === 'patient')?.reverse?.running ? all : null;
        },
        { what: 'the reverse stream to run' },
      );
      expect(phases.find((p) => p.service === 'patient')).toMatchObject({
        phase: 'cut-over',
        reverse: { running: true },
      });
      expect(phases.find((p) => p.service === 'clinical')).toMatchObject({ phase: 'streaming' });

      // A sequence behind its column fails verify for a cut-over service, even against a live sync.
      const seq = `pg_get_serial_sequence('public.patients', 'id')`;
      const before = await withClient(patientDb().adminUrl, async (c) =>
        String(
          (
            await c.query(
              `SELECT last_value FROM pg_sequences WHERE schemaname = 'public' AND sequencename = 'patients_id_seq'`,
            )
          ).rows[0].last_value,
        ),
      );
      await withClient(patientDb().adminUrl, (c) => c.query(`SELECT setval(${seq}, 5)`));
      const checked = await verify({ routing: m.routing, tables: ['patient_db/public.patients'], sync });
      await withClient(patientDb().adminUrl, (c) => c.query(`SELECT setval(${seq}, $1)`, [before]));
      expect(checked.sequences.find((q) => q.column === 'id')).toMatchObject({
        status: 'behind',
        failing: true,
      });

      // Through the reverse stream into the monolith, and on through the forward stream into
      // clinical's projection: every side matches.
      await caughtUp();
      await waitFor(
        async () =>
          withClient(
            m.sourceUrl,
            async (c) =>
              Number((await c.query('SELECT max(id) AS m FROM patients')).rows[0].m) >= Math.max(...inserted),
          ),
        { what: 'the service inserts in the monolith' },
      );
      expect(monolithMax).toBeLessThanOrEqual(Math.max(...inserted));
      await caughtUp();
      // visits is still being written: compared once the load stops.
      expect(await quietMismatches()).toEqual([]);

      // Rollback: writes go back to the monolith; the service database refuses them.
      const back = await rollback({ routing: m.routing, service: 'patient' });
      expect(back).toMatchObject({ partial: false, verify: { ok: true } });
      expect(back.unavailableSeconds).toBeGreaterThan(0);
      const id = await withClient(m.sourceUrl, async (c) =>
        Number(
          (
            await c.query(
              `INSERT INTO patients (hospital_id, name) VALUES (3, 'after rollback') RETURNING id`,
            )
          ).rows[0].id,
        ),
      );
      expect(id).toBeGreaterThan(Math.max(...inserted));
      expect(
        await writeError(
          patientDb().adminUrl,
          `INSERT INTO patients (hospital_id, name) VALUES (1, 'stale')`,
        ),
      ).toMatchObject({ code: FROZEN_SQLSTATE });
      expect((await readServicePhases(m.routing)).find((p) => p.service === 'patient')).toMatchObject({
        phase: 'streaming',
        frozenOnMonolith: [],
        frozenInService: ['public.documents', 'public.patients'],
      });
      await sync.waitForCatchUp();
      const { writes } = await load.stop();
      expect(writes).toBeGreaterThan(0);
      await sync.waitForCatchUp();
      expect(await mismatchedRoutes(m.routing)).toEqual([]);

      // And over again (the service freeze left by the rollback is lifted at the switch).
      const again = await cutover({ routing: m.routing, service: 'patient', lockWaitMs: 0 });
      expect(again.alreadyDone).toBe(false);
      expect(
        await writeError(
          patientDb().adminUrl,
          `INSERT INTO patients (hospital_id, name) VALUES (1, 'fresh')`,
        ),
      ).toBeNull();
      const rerun = await cutover({ routing: m.routing, service: 'patient', lockWaitMs: 0 });
      expect(rerun.alreadyDone).toBe(true);
      await rollback({ routing: m.routing, service: 'patient' });
      await sync.waitForCatchUp();
      expect(await mismatchedRoutes(m.routing)).toEqual([]);
    } finally {
      await load.stop();
    }
  }, 240_000);

  it('complete retires the monolith copy; cancel then refuses', async () => {
    await cutover({ routing: m.routing, service: 'patient' });
    await expect(complete({ routing: m.routing, service: 'clinical' })).rejects.toMatchObject({
      code: 'COMPLETE_NOT_CUT_OVER',
    });
    const done = await complete({ routing: m.routing, service: 'patient', renameSourceTables: true });
    expect(done).toMatchObject({
      alreadyDone: false,
      unpublished: ['public.patients', 'public.documents'],
      renamed: [
        { from: 'public.documents', to: 'public.documents_carved' },
        { from: 'public.patients', to: 'public.patients_carved' },
      ],
    });
    expect(await writeError(m.sourceUrl, `DELETE FROM patients_carved WHERE id = 1`)).toMatchObject({
      code: FROZEN_SQLSTATE,
    });
    const phase = (await readServicePhases(m.routing)).find((p) => p.service === 'patient');
    expect(phase).toMatchObject({ phase: 'completed', reverse: null });
    expect(await complete({ routing: m.routing, service: 'patient' })).toMatchObject({ alreadyDone: true });
    await expect(rollback({ routing: m.routing, service: 'patient' })).rejects.toMatchObject({
      code: 'ROLLBACK_COMPLETED',
    });
    await expect(cancel({ routing: m.routing })).rejects.toMatchObject({ code: 'CANCEL_SERVICE_CUT_OVER' });
  }, 120_000);
});
