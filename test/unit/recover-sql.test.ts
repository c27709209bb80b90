import { describe, expect, it } from 'vitest';
import { recoverTableSql } from '../../src/recover/table-sql.js';
import type { ReverseTable } from '../../src/routing/reverse-map.js';

const table: ReverseTable = {
  routeId: 'patient_db/public.people',
  service: 'patient',
  database: 'patient_db',
  serviceTable: { schema: 'public', name: 'people' },
  monolithTable: { schema: 'public', name: 'pa"tients' },
  columns: [
    { service: 'id', monolith: 'id', type: 'bigint' },
    { service: 'given_name', monolith: 'first_name', type: 'text' },
  ],
  key: { service: ['id'], monolith: ['id'] },
  untouched: ['legacy_code'],
  generated: [],
  partitions: [],
};

describe('recoverTableSql', () => {
  it('reads service names, writes monolith names, never touches dropped columns', () => {
    const sql = recoverTableSql(table, 'carve_recover_0');
    expect(sql.readService).toBe('COPY (SELECT "id", "given_name" FROM "public"."people") TO STDOUT');
    expect(sql.writeStage).toBe('COPY "pg_temp"."carve_recover_0" ("id", "first_name") FROM STDIN');
    expect(sql.createStage).toContain('FROM "public"."pa""tients" WITH NO DATA');
    expect(sql.upsert).toContain('ON CONFLICT ("id") DO UPDATE SET "first_name" = EXCLUDED."first_name"');
    expect(sql.upsert).toContain('OVERRIDING SYSTEM VALUE');
    expect(sql.upsert).not.toContain('legacy_code');
    expect(sql.deleteMissing).toContain('WHERE s."id" = m."id"');
  });

  it('a key-only table inserts missing keys and updates nothing', () => {
    const keyOnly = { ...table, columns: [table.columns[0]!] };
    expect(recoverTableSql(keyOnly, 's').upsert).toContain('ON CONFLICT ("id") DO NOTHING');
  });
});
