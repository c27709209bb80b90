import { beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/model.js';
import { CARESYNC_PARTITIONED_TABLE, CARESYNC_TABLES } from '../../src/demo/caresync-tables.js';
import { createMonolithSchema } from '../../src/demo/create-monolith-schema.js';
import { withClient } from '../../src/pg/connect.js';
import { createDatabase, useCluster } from '../support/cluster.js';

let catalog: Catalog;

beforeAll(async () => {
  const pg = await useCluster({ name: 'catalog-caresync' });
  const url = await createDatabase(pg, 'caresync');
  await withClient(url, (c) => createMonolithSchema(c));
  catalog = await withClient(url, (c) => introspect(c));
});

const table = (name: string) => catalog.tables.find((t) => t.schema === 'public' && t.name === name)!;

describe('introspect on the CareSync monolith', () => {
  it('sees every CareSync table, and the partitions of analytics_data', () => {
    const roots = catalog.tables
      .filter((t) => t.kind !== 'partition')
      .map((t) => t.name)
      .sort();
    expect(roots).toEqual(CARESYNC_TABLES.map((t) => t.name).sort());
    expect(roots).toHaveLength(58);
    const analytics = table(CARESYNC_PARTITIONED_TABLE);
    expect(analytics.kind).toBe('partitioned');
    expect(analytics.partitions.length).toBeGreaterThan(1);
    const leaves = catalog.tables.filter((t) => t.kind === 'partition');
    expect(leaves.map((l) => l.name).sort()).toEqual(analytics.partitions.map((p) => p.name).sort());
    expect(catalog.schemas).toEqual(['public']);
  });

  it('reads keys, the key-less table, generated columns, identity, enums and domains', () => {
    expect(table('login_attempts').primaryKey).toBeUndefined();
    expect(table('login_attempts').uniqueKeys).toEqual([]);
    expect(table('user_roles').primaryKey!.columns).toEqual(['profile_id', 'role_id']);
    const patients = table('patients');
    expect(patients.columns.find((c) => c.name === 'full_name')).toMatchObject({
      generated: `((first_name || ' '::text) || last_name)`,
      dependsOn: ['first_name', 'last_name'],
    });
    expect(patients.columns.find((c) => c.name === 'id')).toMatchObject({
      identity: 'always',
      type: 'bigint',
    });
    expect(patients.columns.find((c) => c.name === 'sex')).toMatchObject({
      type: 'public.sex',
      userType: { kind: 'enum' },
    });
    expect(patients.columns.find((c) => c.name === 'email')!.userType).toMatchObject({
      kind: 'domain',
      name: 'email_address',
    });
    expect(catalog.enums.find((e) => e.name === 'sex')!.labels).toEqual([
      'female',
      'male',
      'intersex',
      'unknown',
    ]);
    expect(catalog.domains.map((d) => d.name).sort()).toEqual(['email_address', 'money_amount']);
    const fk = patients.foreignKeys.find((f) => f.columns[0] === 'primary_hospital_id')!;
    expect(fk.references).toEqual({ schema: 'public', name: 'hospitals' });
    expect(table('patient_allergies').checks.map((c) => c.columns)).toContainEqual(['reaction_severity']);
    const seq = catalog.sequences.find((s) => s.name === 'analytics_data_id_seq')!;
    expect(seq.identity).toBe(false);
    expect(table('analytics_data').columns.find((c) => c.name === 'id')!.sequence).toEqual({
      schema: 'public',
      name: 'analytics_data_id_seq',
    });
  });
});
