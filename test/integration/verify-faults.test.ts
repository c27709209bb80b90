import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { startSync } from '../../src/sync/index.js';
import { verify } from '../../src/verify/index.js';
import type { VerifyOptions, VerifyResult } from '../../src/verify/index.js';
import type { Migration } from '../support/migration.js';
import { exec, HOSTILE_KEY, HOSTILE_TABLE, setupVerifyMigration, urlOf } from './verify-setup.js';

let m: Migration;
let patientDb: string;
let clinicalDb: string;

beforeAll(async () => {
  m = await setupVerifyMigration('verify-faults');
  patientDb = urlOf(m.routing, 'patient_db');
  clinicalDb = urlOf(m.routing, 'clinical_db');
});

/** Small segments and buckets, so that several segments and drills are exercised. */
function run(extra: Partial<VerifyOptions> = {}): Promise<VerifyResult> {
  return verify({ routing: m.routing, segmentRows: 1000, bucketRows: 50, jobs: 3, ...extra });
}

/** Everything the verify reported as wrong, in one comparable shape. */
function problems(result: VerifyResult) {
  return {
    tables: result.tables
      .filter((t) => t.status !== 'ok')
      .map((t) => ({ table: t.target.name, kind: t.kind, mismatches: t.mismatches })),
    foreignKeys: result.foreignKeys
      .filter((f) => f.status === 'orphans')
      .map((f) => ({ name: f.name, orphans: f.orphans.filter((o) => !o.preexisting) })),
    sequences: result.sequences
      .filter((s) => s.status !== 'ok')
      .map((s) => ({ table: s.table.name, column: s.column })),
  };
}

const CLEAN = { tables: [], foreignKeys: [], sequences: [] };

describe('verify on a copied migration', () => {
  it('finds nothing on an exact copy, and reports counts, methods and the pre-existing orphan', async () => {
    const result = await run();
    expect(problems(result)).toEqual(CLEAN);
    expect(result.ok).toBe(true);
    expect(result.alignment).toBe('positions');
    const byName = Object.fromEntries(result.tables.map((t) => [`${t.database}.${t.target.name}`, t]));
    expect(byName['patient_db.patients']).toMatchObject({
      sourceRows: 3000,
      targetRows: 3000,
      method: 'ranges',
      kind: 'owned',
    });
    expect(byName['patient_db.patients']!.segments).toBeGreaterThan(1);
    expect(byName['clinical_db.patient_names']).toMatchObject({
      sourceRows: 3000,
      targetRows: 3000,
      kind: 'projection',
    });
    expect(byName['clinical_db.consultations']).toMatchObject({ sourceRows: 6001, method: 'ranges' });
    expect(byName['clinical_db.documents']).toMatchObject({ sourceRows: 700, method: 'hash' });
    expect(byName['clinical_db.enrolments']).toMatchObject({ sourceRows: 240, method: 'hash' });
    expect(byName[`clinical_db.${HOSTILE_TABLE}`]).toMatchObject({ sourceRows: 40, status: 'ok' });
    expect(result.foreignKeys).toHaveLength(1);
    expect(result.foreignKeys[0]).toMatchObject({
      status: 'preexisting-orphans',
      orphans: [{ key: { id: '900001' }, values: { patient_id: '999999' }, preexisting: true }],
    });
    expect(result.sequences).toEqual([expect.objectContaining({ column: 'id', max: '3000', status: 'ok' })]);
  });

  it('a deleted row: missing, with its exact key', async () => {
    const row = await withClient(
      patientDb,
      async (c) => (await c.query('DELETE FROM patients WHERE id = 1239 RETURNING *')).rows[0],
    );
    try {
      const result = await run();
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          { table: 'patients', kind: 'owned', mismatches: [{ kind: 'missing', key: { id: '1239' } }] },
        ],
      });
      expect(result.ok).toBe(false);
      expect(result.tables.find((t) => t.target.name === 'patients')).toMatchObject({
        sourceRows: 3000,
        targetRows: 2999,
        missing: 1,
      });
    } finally {
      await exec(patientDb, 'INSERT INTO patients SELECT * FROM json_populate_record(NULL::patients, $1)', [
        JSON.stringify(row),
      ]);
    }
    expect((await run()).ok).toBe(true);
  });

  it('a changed value in a renamed column: different, naming the column both ways with both values', async () => {
    await exec(patientDb, `UPDATE patients SET family_name = 'Changed' WHERE id = 42`);
    try {
      const result = await run();
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          {
            table: 'patients',
            kind: 'owned',
            mismatches: [
              {
                kind: 'different',
                key: { id: '42' },
                columns: [
                  {
                    column: 'family_name',
                    sourceColumn: 'last_name',
                    source: 'O\'Last "42"',
                    target: 'Changed',
                  },
                ],
              },
            ],
          },
        ],
      });
    } finally {
      await exec(patientDb, `UPDATE patients SET family_name = 'O''Last "42"' WHERE id = 42`);
    }
  });

  it('an extra row under a uuid key', async () => {
    await exec(
      clinicalDb,
      `INSERT INTO documents VALUES ('00000000-0000-0000-0000-0000000000ff', 'intruder', NULL, NULL)`,
    );
    try {
      const result = await run();
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          {
            table: 'documents',
            kind: 'owned',
            mismatches: [{ kind: 'extra', key: { id: '00000000-0000-0000-0000-0000000000ff' } }],
          },
        ],
      });
    } finally {
      await exec(clinicalDb, `DELETE FROM documents WHERE id = '00000000-0000-0000-0000-0000000000ff'`);
    }
  });

  it('a changed value in a projection only', async () => {
    await exec(clinicalDb, `UPDATE patient_names SET first_name = 'Proj' WHERE id = 7`);
    try {
      const result = await run();
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          {
            table: 'patient_names',
            kind: 'projection',
            mismatches: [
              {
                kind: 'different',
                key: { id: '7' },
                columns: [{ column: 'first_name', source: 'first 7', target: 'Proj' }],
              },
            ],
          },
        ],
      });
    } finally {
      await exec(clinicalDb, `UPDATE patient_names SET first_name = 'first 7' WHERE id = 7`);
    }
  });

  it('a composite text/int key and a hostile table and key column', async () => {
    await exec(clinicalDb, `UPDATE enrolments SET grade = 'ZZ' WHERE course = 'émile' AND student = 17`);
    await exec(
      clinicalDb,
      `UPDATE "x""; drop table y; --" SET "Payload" = NULL WHERE "weird col ""; --" = 3`,
    );
    try {
      const result = await run();
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [
          {
            table: 'enrolments',
            kind: 'owned',
            mismatches: [
              {
                kind: 'different',
                key: { course: 'émile', student: '17' },
                columns: [{ column: 'grade', source: 'C', target: 'ZZ' }],
              },
            ],
          },
          {
            table: HOSTILE_TABLE,
            kind: 'owned',
            mismatches: [
              {
                kind: 'different',
                key: { [HOSTILE_KEY]: '3' },
                columns: [{ column: 'Payload', source: 'p3', target: null }],
              },
            ],
          },
        ],
      });
    } finally {
      await exec(clinicalDb, `UPDATE enrolments SET grade = 'C' WHERE course = 'émile' AND student = 17`);
      await exec(
        clinicalDb,
        `UPDATE "x""; drop table y; --" SET "Payload" = 'p3' WHERE "weird col ""; --" = 3`,
      );
    }
  });

  it('an orphan across a cut foreign key: listed by key, not pre-existing, next to the missing parent', async () => {
    const row = await withClient(
      patientDb,
      async (c) => (await c.query('DELETE FROM patients WHERE id = 100 RETURNING *')).rows[0],
    );
    try {
      const result = await run();
      const children = await withClient(m.sourceUrl, async (c) =>
        (await c.query('SELECT id::text FROM consultations WHERE patient_id = 100 ORDER BY id')).rows.map(
          (r) => r.id,
        ),
      );
      expect(children.length).toBeGreaterThan(0);
      expect(problems(result)).toEqual({
        ...CLEAN,
        tables: [{ table: 'patients', kind: 'owned', mismatches: [{ kind: 'missing', key: { id: '100' } }] }],
        foreignKeys: [
          {
            name: 'consultations_patient_fk',
            orphans: children.map((id) => ({
              key: { id },
              values: { patient_id: '100' },
              preexisting: false,
            })),
          },
        ],
      });
      expect(result.foreignKeys[0]!.orphans.filter((o) => o.preexisting)).toHaveLength(1);
    } finally {
      await exec(patientDb, 'INSERT INTO patients SELECT * FROM json_populate_record(NULL::patients, $1)', [
        JSON.stringify(row),
      ]);
    }
  });

  it('a sequence behind the largest value of its column', async () => {
    await exec(patientDb, `SELECT setval(pg_get_serial_sequence('public.patients', 'id'), 5)`);
    try {
      const result = await run();
      expect(problems(result)).toEqual({ ...CLEAN, sequences: [{ table: 'patients', column: 'id' }] });
      expect(result.sequences[0]).toMatchObject({ max: '3000', next: '6', status: 'behind', failing: true });
      expect(result.ok).toBe(false);
    } finally {
      await exec(patientDb, `SELECT setval(pg_get_serial_sequence('public.patients', 'id'), 3000)`);
    }
  });

  it('resumes an interrupted run: segments found clean are not read again', async () => {
    const controller = new AbortController();
    let segments = 0;
    const interrupted = run({
      jobs: 1,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'segment-done' && ++segments === 3) controller.abort();
      },
    });
    await expect(interrupted).rejects.toMatchObject({ code: 'VERIFY_ABORTED' });
    const resumed = await run({ resume: true });
    expect(resumed.ok).toBe(true);
    const reused = resumed.tables.reduce((n, t) => n + t.resumedSegments, 0);
    expect(reused).toBeGreaterThanOrEqual(3);
    expect(resumed.tables.find((t) => t.target.name === 'patients')).toMatchObject({
      sourceRows: 3000,
      targetRows: 3000,
    });
    // A fresh run reads everything again.
    const fresh = await run();
    expect(fresh.tables.reduce((n, t) => n + t.resumedSegments, 0)).toBe(0);
  });

  it('without a running sync: unrelated monolith writes are fine, writes to moving tables are refused, --catch-up applies them', async () => {
    await exec(m.sourceUrl, 'INSERT INTO audit_noise DEFAULT VALUES');
    expect((await run()).ok).toBe(true);

    await exec(m.sourceUrl, `UPDATE patients SET first_name = 'renamed later' WHERE id = 5`);
    const refused = run();
    await expect(refused).rejects.toMatchObject({ code: 'VERIFY_TARGETS_BEHIND' });
    const error = (await refused.catch((e: unknown) => e)) as {
      details: { databases: { database: string; transactions: number }[] };
    };
    expect(error.details.databases.map((d) => d.database).sort()).toEqual(['clinical_db', 'patient_db']);
    expect(error.details.databases.every((d) => d.transactions === 1)).toBe(true);

    // The hint's first way: start carve sync, then verify again (it holds the sync while it reads).
    expect((error as unknown as { hint: string }).hint).toContain('Start carve sync');
    const sync = await startSync({ routing: m.routing });
    try {
      expect((await run()).ok).toBe(true);
    } finally {
      await sync.stop();
    }
    // Its second way: --catch-up applies what the targets lack first.
    await exec(m.sourceUrl, `UPDATE patients SET first_name = 'renamed later' WHERE id = 5`);
    await expect(run()).rejects.toMatchObject({
      code: 'VERIFY_TARGETS_BEHIND',
      hint: expect.stringContaining('carve verify --catch-up'),
    });
    const caughtUp = await run({ catchUp: true });
    expect(caughtUp.alignment).toBe('catch-up');
    expect(problems(caughtUp)).toEqual(CLEAN);
    expect(caughtUp.ok).toBe(true);
    expect(
      await withClient(
        patientDb,
        async (c) => (await c.query('SELECT first_name FROM patients WHERE id = 5')).rows[0].first_name,
      ),
    ).toBe('renamed later');
    expect((await run()).alignment).toBe('positions');
  });
});
