import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries } from '../../src/cluster/binaries.js';
import type { VerifyResult } from '../../src/verify/events.js';
import type { Migration } from '../support/migration.js';
import { exec, setupVerifyMigration, urlOf } from './verify-setup.js';

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
let m: Migration;
let dir: string;
let planFile: string;

function carve(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/carve.js'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  m = await setupVerifyMigration('verify-repair');
  dir = mkdtempSync(join(tmpdir(), 'carve-verify-repair-'));
  planFile = join(dir, 'plan.yaml');
  writeFileSync(planFile, m.planText);
});

describe('carve verify CLI and --repair-sql', () => {
  it('exits 0 with one line per table when everything matches', () => {
    const r = carve('verify', '--plan', planFile);
    expect(r.stderr).toContain('reading both sides at monolith LSN');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/patient_db\s+public\.patients\s+ok\s+3,000\s+3,000/);
    expect(r.stdout).toMatch(/clinical_db\s+public\.patient_names \(projection\)\s+ok/);
    expect(r.stdout).toContain('1 already orphaned in the monolith');
    expect(r.stdout).toContain('OK: everything matches');
  });

  it('writes repair SQL that psql applies and after which verify passes', async () => {
    const patientDb = urlOf(m.routing, 'patient_db');
    const clinicalDb = urlOf(m.routing, 'clinical_db');
    // Values that need escaping in a SQL file: quotes, backslashes, newlines, NULLs, arrays, bytea, jsonb.
    await exec(patientDb, `DELETE FROM patients WHERE id IN (100, 1239)`);
    await exec(
      patientDb,
      `UPDATE patients SET family_name = E'back\\\\slash''\\nnew line', tags = '{}', mood = NULL WHERE id = 42`,
    );
    await exec(
      patientDb,
      `INSERT INTO patients VALUES (5000, 'extra', NULL, NULL, NULL, '2024-01-01', NULL, NULL)`,
    );
    await exec(clinicalDb, `UPDATE patient_names SET last_name = NULL WHERE id = 8`);
    await exec(clinicalDb, `DELETE FROM consultations WHERE id BETWEEN 10 AND 20`);
    await exec(clinicalDb, `UPDATE consultations SET fee = 999.99 WHERE id = 33`); // generated total follows
    await exec(
      clinicalDb,
      `UPDATE documents SET body = '\\x00ff'::bytea, meta = '{"a": "it''s"}' WHERE title = 'doc 5'`,
    );
    await exec(clinicalDb, `DELETE FROM documents WHERE title = 'doc 6'`);
    await exec(clinicalDb, `INSERT INTO enrolments VALUES ('new''course', 1, 'A')`);
    await exec(
      clinicalDb,
      `UPDATE "x""; drop table y; --" SET "Payload" = E'\\\\' WHERE "weird col ""; --" = 9`,
    );
    await exec(patientDb, `SELECT setval(pg_get_serial_sequence('public.patients', 'id'), 5)`);

    const repairFile = join(dir, 'repair.sql');
    const r = carve('verify', '--plan', planFile, '--json', '--repair-sql', repairFile);
    expect(r.status).toBe(4);
    const result = JSON.parse(r.stdout) as VerifyResult;
    const counts = Object.fromEntries(
      result.tables.map((t) => [t.target.name, [t.missing, t.extra, t.different]]),
    );
    expect(counts).toMatchObject({
      patients: [2, 1, 1],
      patient_names: [0, 0, 1],
      consultations: [11, 0, 1],
      documents: [1, 0, 1],
      enrolments: [0, 1, 0],
      'x"; drop table y; --': [0, 0, 1],
    });
    expect(result.foreignKeys[0]!.status).toBe('orphans');
    expect(result.sequences.filter((s) => s.status === 'behind')).toHaveLength(1);
    const sql = readFileSync(repairFile, 'utf8');
    expect(sql).toContain('INSERT INTO "public"."patients"');
    expect(sql).toContain('DELETE FROM "public"."enrolments" WHERE "course" = ');
    expect(sql).toContain('"x""; drop table y; --"');

    const psql = join(findPostgresBinaries().binDir, 'psql');
    const applied = spawnSync(
      psql,
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', m.target.url(), '-f', repairFile],
      { encoding: 'utf8' },
    );
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);

    const again = carve('verify', '--plan', planFile, '--json');
    const after = JSON.parse(again.stdout) as VerifyResult;
    expect(after.tables.filter((t) => t.status !== 'ok')).toEqual([]);
    expect(after.sequences.filter((s) => s.status !== 'ok')).toEqual([]);
    expect(again.status).toBe(0);
  });

  it('names unknown tables, and limits the run to the tables asked for', () => {
    const unknown = carve('verify', '--plan', planFile, '--tables', 'nope');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('VERIFY_UNKNOWN_TABLE');
    // The hint: name tables as in the plan (carve plan lists them); then verify runs on those.
    expect(unknown.stderr).toContain('carve plan lists them');
    const listed = carve('plan', '--plan', planFile);
    expect(listed.status, listed.stderr).toBe(0);
    for (const table of ['documents', 'patient_names']) expect(listed.stdout).toContain(table);
    const some = carve('verify', '--plan', planFile, '--json', '--tables', 'documents,patient_names');
    expect(some.status, some.stderr).toBe(0);
    const result = JSON.parse(some.stdout) as VerifyResult;
    expect(result.tables.map((t) => t.target.name).sort()).toEqual(['documents', 'patient_names']);
    expect(result.foreignKeys).toEqual([]);
  });
});
