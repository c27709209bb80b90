import { describe, expect, it } from 'vitest';
import {
  diffRelations,
  RelationCache,
  type RelationColumn,
  type RelationMessage,
} from '../../src/sync/pgoutput/index.js';

const col = (name: string, typeOid = 25, isKey = false, typeMod = -1): RelationColumn => ({
  name,
  flags: isKey ? 1 : 0,
  isKey,
  typeOid,
  typeMod,
});
const rel = (columns: RelationColumn[], extra: Partial<RelationMessage> = {}): RelationMessage => ({
  tag: 'relation',
  relationId: 7,
  schema: 'public',
  name: 'patients',
  replicaIdentity: 'default',
  columns,
  ...extra,
});

describe('diffRelations', () => {
  const base = rel([col('id', 23, true), col('name'), col('born', 1082)]);

  it('calls a resent, unchanged definition identical', () => {
    const diff = diffRelations(base, rel([col('id', 23, true), col('name'), col('born', 1082)]));
    expect(diff).toMatchObject({
      identical: true,
      addedColumns: [],
      droppedColumns: [],
      retypedColumns: [],
      keyChanged: false,
      renamed: null,
    });
  });

  it('reports added, dropped and retyped columns by name', () => {
    const diff = diffRelations(base, rel([col('id', 20, true), col('born', 1082), col('email')]));
    expect(diff.identical).toBe(false);
    expect(diff.addedColumns.map((c) => c.name)).toEqual(['email']);
    expect(diff.droppedColumns.map((c) => c.name)).toEqual(['name']);
    expect(diff.retypedColumns).toEqual([
      { name: 'id', from: { typeOid: 23, typeMod: -1 }, to: { typeOid: 20, typeMod: -1 } },
    ]);
    expect(diff.keyChanged).toBe(false);
    expect(diff.reordered).toBe(false);
  });

  it('reports a typmod change (varchar(10) → varchar(20)) as a retype', () => {
    const diff = diffRelations(rel([col('code', 1043, false, 14)]), rel([col('code', 1043, false, 24)]));
    expect(diff.retypedColumns).toEqual([
      { name: 'code', from: { typeOid: 1043, typeMod: 14 }, to: { typeOid: 1043, typeMod: 24 } },
    ]);
  });

  it('reports key changes, replica identity changes and renames', () => {
    const diff = diffRelations(
      base,
      rel([col('id', 23, true), col('name', 25, true), col('born', 1082)], {
        replicaIdentity: 'index',
        name: 'people',
        schema: 'crm',
      }),
    );
    expect(diff.keyChanged).toBe(true);
    expect(diff.keyBefore).toEqual(['id']);
    expect(diff.keyAfter).toEqual(['id', 'name']);
    expect(diff.replicaIdentityChanged).toEqual({ from: 'default', to: 'index' });
    expect(diff.renamed).toEqual({
      from: { schema: 'public', name: 'patients' },
      to: { schema: 'crm', name: 'people' },
    });
    expect(diff.identical).toBe(false);
  });

  it('shows a renamed column as one dropped and one added', () => {
    const diff = diffRelations(base, rel([col('id', 23, true), col('full_name'), col('born', 1082)]));
    expect(diff.droppedColumns.map((c) => c.name)).toEqual(['name']);
    expect(diff.addedColumns.map((c) => c.name)).toEqual(['full_name']);
  });
});

describe('RelationCache', () => {
  it('returns no diff the first time, a diff for later definitions, and the latest on lookup', () => {
    const cache = new RelationCache();
    expect(cache.set(rel([col('id', 23, true)]))).toBeUndefined();
    const diff = cache.set(rel([col('id', 23, true), col('x')]));
    expect(diff?.addedColumns.map((c) => c.name)).toEqual(['x']);
    expect(cache.require(7).columns).toHaveLength(2);
    expect(cache.size).toBe(1);
  });

  it('refuses a change for an unknown relation id with PGOUTPUT_UNKNOWN_RELATION', () => {
    const cache = new RelationCache();
    expect(() => cache.require(99)).toThrow(
      expect.objectContaining({ code: 'PGOUTPUT_UNKNOWN_RELATION', details: { relationId: 99 } }),
    );
    expect(cache.get(99)).toBeUndefined();
  });
});
