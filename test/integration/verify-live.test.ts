import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/pg/connect.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { verify } from '../../src/verify/index.js';
import type { VerifyResult } from '../../src/verify/events.js';
import { spawnCarve } from '../support/carve-cli.js';
import { waitFor } from '../support/cluster.js';
import type { Migration } from '../support/migration.js';
import { exec, setupVerifyMigration, urlOf } from './verify-setup.js';

let m: Migration;
let engine: SyncEngine | undefined;
let child: ChildProcess | undefined;
let loadRound = 0;

/**
 * A write load on every moving table, each transaction several statements, from two sessions:
 * new patients with consultations, updates of renamed and projected columns, deletes (children
 * first), uuid and composite-key rows. The foreign key stays valid, so the targets must match
 * exactly at any consistent point.
 */
function startWriteLoad(): { stop(): Promise<number> } {
  let stopping = false;
  let transactions = 0;
  const round = ++loadRound;
  const worker = async (w: number) => {
    const c = await connect(m.sourceUrl);
    let n = 0;
    while (!stopping) {
      n++;
      const id = 100_000 + round * 10_000_000 + w * 1_000_000 + n;
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO patients (id, first_name, last_name, updated_at) VALUES ($1, 'live', 'load', now())`,
        [id],
      );
      await c.query(
        `INSERT INTO consultations (id, patient_id, fee) VALUES ($1, $2, 1.5), ($1 + 500000, $2, 2)`,
        [id, id],
      );
      await c.query(
        `UPDATE patients SET last_name = 'upd ' || $1, score = random() WHERE id = 1 + ($1 % 2999)`,
        [n],
      );
      await c.query(
        `UPDATE documents SET meta = jsonb_build_object('n', $1::int) WHERE title = 'doc ' || (1 + $1 % 700)`,
        [n],
      );
      await c.query(`INSERT INTO enrolments VALUES ('live', $1, 'B') ON CONFLICT DO NOTHING`, [id]);
      if (n % 3 === 0) {
        const old = id - 2;
        await c.query(`DELETE FROM consultations WHERE patient_id = $1`, [old]);
        await c.query(`DELETE FROM patients WHERE id = $1`, [old]);
        await c.query(`DELETE FROM enrolments WHERE course = 'live' AND student = $1`, [old]);
      }
      await c.query('COMMIT');
      transactions++;
    }
    await c.end();
  };
  const failures: unknown[] = [];
  const workers = [worker(1), worker(2)].map((p) => p.catch((error: unknown) => void failures.push(error)));
  return {
    async stop() {
      stopping = true;
      await Promise.all(workers);
      if (failures.length) throw failures[0];
      return transactions;
    },
  };
}

/** Everything reported wrong except sequences (advisory while sync runs: it does not move them). */
function problems(result: VerifyResult) {
  return {
    tables: result.tables
      .filter((t) => t.status !== 'ok')
      .map((t) => ({ table: t.target.name, mismatches: t.mismatches })),
    orphans: result.foreignKeys.flatMap((f) => f.orphans.filter((o) => !o.preexisting)),
    failingSequences: result.sequences.filter((s) => s.failing),
  };
}
const CLEAN = { tables: [], orphans: [], failingSequences: [] };

beforeAll(async () => {
  m = await setupVerifyMigration('verify-live');
});

afterAll(async () => {
  await engine?.stop().catch(() => {});
  child?.kill('SIGKILL');
});

describe('verify while the monolith takes writes and sync streams them', () => {
  it('no false positive over repeated verifies, holding an in-process sync engine; a real difference is still found', async () => {
    engine = await startSync({ routing: m.routing, holdPollMs: 50 });
    const load = startWriteLoad();
    try {
      for (let i = 0; i < 3; i++) {
        const result = await verify({ routing: m.routing, sync: engine, segmentRows: 2000, bucketRows: 100 });
        expect(result.alignment).toBe('hold-api');
        expect(problems(result)).toEqual(CLEAN);
        expect(result.ok).toBe(true);
      }
      // A fault on a row the load never touches is found, and nothing else.
      await exec(
        urlOf(m.routing, 'clinical_db'),
        `UPDATE consultations SET notes = 'tampered' WHERE id = 4242`,
      );
      const result = await verify({ routing: m.routing, sync: engine });
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          {
            table: 'consultations',
            mismatches: [
              {
                kind: 'different',
                key: { id: '4242' },
                columns: [expect.objectContaining({ column: 'notes', target: 'tampered' })],
              },
            ],
          },
        ],
      });
      await exec(
        urlOf(m.routing, 'clinical_db'),
        `UPDATE consultations SET notes = repeat('n', 4242 % 40) WHERE id = 4242`,
      );
    } finally {
      const transactions = await load.stop();
      expect(transactions).toBeGreaterThan(20);
      await engine.stop();
      engine = undefined;
    }
  });

  it('no false positive with `carve sync` running in another process (holds rows)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carve-verify-live-'));
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(planFile, m.planText);
    // Through spawnCarve: its run fails if pg warned of overlapping queries on stderr.
    const sync = spawnCarve(['sync', '--plan', planFile, '--json']);
    child = sync.child;
    await waitFor(
      () =>
        withClient(
          m.sourceUrl,
          async (c) =>
            (await c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'carve sync%'`))
              .rowCount,
        ),
      { what: 'carve sync to start' },
    );
    const load = startWriteLoad();
    try {
      for (let i = 0; i < 2; i++) {
        const result = await verify({ routing: m.routing, segmentRows: 2000, bucketRows: 100 });
        expect(result.alignment).toBe('hold-table');
        expect(problems(result)).toEqual(CLEAN);
      }
    } finally {
      await load.stop();
    }
    // Sequences lag behind rows that sync inserted: advisory while it runs, reported all the same.
    const last = await verify({ routing: m.routing });
    expect(last.sequences.some((s) => s.status === 'behind' && !s.failing)).toBe(true);
    expect(last.ok).toBe(true);
    child.kill('SIGTERM');
    const stoppedSync = await sync.done;
    expect(stoppedSync.code, stoppedSync.stderr).toBe(0);
    child = undefined;
    // No sync any more: the targets are exactly at a recorded position, and sequences now fail.
    const stopped = await verify({ routing: m.routing });
    expect(stopped.alignment).toBe('positions');
    expect(stopped.tables.filter((t) => t.status !== 'ok')).toEqual([]);
    expect(stopped.sequences.some((s) => s.failing)).toBe(true);
  });
});
