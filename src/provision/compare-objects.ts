import type { CatalogTable, TableRef } from '../catalog/model.js';
import type { TableRoute } from '../routing/model.js';
import type { DdlObject } from './ddl-model.js';
import { postLoadUniqueKeys } from './render-post-load.js';
import { AUDIT_COLUMNS, projectionKeyName } from './render-table.js';
import type { TargetInventory } from './target-inventory.js';

export type ObjectState =
  { state: 'missing' } | { state: 'present' } | { state: 'conflict'; reasons: string[] };

const key = (t: TableRef) => `${t.schema}.${t.name}`;
const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Whether an object provision would create already exists in the target, and if so whether it is
 * the same object (then it is left alone) or a different one with the same name (a conflict, which
 * stops provisioning before anything is written). Pure.
 */
export function compareObject(object: DdlObject, target: TargetInventory): ObjectState {
  switch (object.kind) {
    case 'schema':
      return target.schemas.has(object.schema) ? { state: 'present' } : { state: 'missing' };
    case 'extension': {
      const schema = target.extensions.get(object.extension);
      if (schema === undefined) return { state: 'missing' };
      return schema === object.schema
        ? { state: 'present' }
        : {
            state: 'conflict',
            reasons: [`extension ${object.extension} is installed in schema ${schema}, not ${object.schema}`],
          };
    }
    case 'enum': {
      const kind = target.types.get(key(object.type));
      if (kind === undefined) return { state: 'missing' };
      const existing = target.catalog.enums.find(
        (e) => e.schema === object.type.schema && e.name === object.type.name,
      );
      if (!existing) return { state: 'conflict', reasons: [`type ${object.name} exists but is not an enum`] };
      return same(existing.labels, object.type.labels)
        ? { state: 'present' }
        : {
            state: 'conflict',
            reasons: [
              `enum ${object.name} has labels (${existing.labels.join(', ')}), expected (${object.type.labels.join(', ')})`,
            ],
          };
    }
    case 'domain': {
      const kind = target.types.get(key(object.type));
      if (kind === undefined) return { state: 'missing' };
      const existing = target.catalog.domains.find(
        (d) => d.schema === object.type.schema && d.name === object.type.name,
      );
      if (!existing)
        return { state: 'conflict', reasons: [`type ${object.name} exists but is not a domain`] };
      const reasons: string[] = [];
      const want = object.type;
      if (existing.baseType !== want.baseType)
        reasons.push(`domain ${object.name} is over ${existing.baseType}, expected ${want.baseType}`);
      if (existing.notNull !== want.notNull) reasons.push(`domain ${object.name} NOT NULL differs`);
      if ((existing.default ?? null) !== (want.default ?? null))
        reasons.push(`domain ${object.name} default differs`);
      const checks = (d: typeof want) => d.checks.map((c) => `${c.name}: ${c.definition}`).sort();
      if (!same(checks(existing), checks(want)))
        reasons.push(`domain ${object.name} has different check constraints`);
      return reasons.length ? { state: 'conflict', reasons } : { state: 'present' };
    }
    case 'sequence': {
      const kind = target.relations.get(key(object.sequence));
      if (kind === undefined) return { state: 'missing' };
      return kind === 'S'
        ? { state: 'present' }
        : { state: 'conflict', reasons: [`${object.name} exists and is not a sequence`] };
    }
    case 'table':
      return compareTable(object.route, target);
    case 'audit-table': {
      const kind = target.relations.get(key(object.table));
      if (kind === undefined) return { state: 'missing' };
      const existing = findTable(target, object.table);
      const columns = existing?.columns.map((c) => `${c.name} ${c.type}`).sort() ?? [];
      const want = AUDIT_COLUMNS.map((c) => `${c.name} ${c.type}`).sort();
      return existing && same(columns, want)
        ? { state: 'present' }
        : {
            state: 'conflict',
            reasons: [
              `${object.name} exists but is not carve's audit table (columns ${columns.join(', ') || 'none'})`,
            ],
          };
    }
    case 'role':
    case 'database':
      throw new Error(`${object.kind} objects are compared at server level`);
  }
}

function findTable(target: TargetInventory, ref: TableRef): CatalogTable | undefined {
  return target.catalog.tables.find((t) => t.schema === ref.schema && t.name === ref.name);
}

function compareTable(route: TableRoute, target: TargetInventory): ObjectState {
  const kind = target.relations.get(key(route.target));
  if (kind === undefined) return { state: 'missing' };
  const name = key(route.target);
  const existing = findTable(target, route.target);
  if (!existing)
    return { state: 'conflict', reasons: [`${name} exists but is not a table (relkind ${kind})`] };
  const reasons: string[] = [];
  const source = route.sourceTable;
  const owned = route.kind === 'owned';
  const partitioned = owned && source.kind === 'partitioned';
  if ((existing.kind === 'partitioned') !== partitioned) {
    reasons.push(`${name} is ${existing.kind === 'partitioned' ? '' : 'not '}partitioned`);
  }
  const renamed = route.columns.some((c) => c.source !== c.target);
  const wantNames = route.columns.map((c) => c.target).sort();
  const haveNames = existing.columns.map((c) => c.name).sort();
  if (!same(wantNames, haveNames))
    reasons.push(`${name} has columns (${haveNames.join(', ')}), expected (${wantNames.join(', ')})`);
  for (const rc of route.columns) {
    const want = source.columns.find((c) => c.name === rc.source)!;
    const have = existing.columns.find((c) => c.name === rc.target);
    if (!have) continue;
    const differs: string[] = [];
    if (have.type !== want.type) differs.push(`type ${have.type}, expected ${want.type}`);
    if (have.notNull !== want.notNull)
      differs.push(want.notNull ? 'nullable, expected NOT NULL' : 'NOT NULL, expected nullable');
    if ((have.collation ?? null) !== (want.collation ?? null)) differs.push('a different collation');
    if (owned) {
      if ((have.identity ?? null) !== (want.identity ?? null)) differs.push('a different identity');
      if ((have.default ?? null) !== (want.default ?? null))
        differs.push(`default ${have.default ?? 'none'}, expected ${want.default ?? 'none'}`);
      if ((have.generated === undefined) !== (want.generated === undefined))
        differs.push('a different generated-ness');
      else if (!renamed && have.generated !== want.generated)
        differs.push('a different generation expression');
    }
    if (differs.length) reasons.push(`${name}.${rc.target} has ${differs.join(', ')}`);
  }
  const toTarget = (cols: readonly string[]) =>
    cols.map((c) => route.columns.find((rc) => rc.source === c)?.target ?? c);
  const dropped = new Set(route.droppedColumns ?? []);
  const kept = (cols: readonly string[] | undefined) => (cols ?? []).every((c) => !dropped.has(c));
  if (owned) {
    if (source.primaryKey && kept(source.primaryKey.columns)) {
      if (!existing.primaryKey || !same(existing.primaryKey.columns, toTarget(source.primaryKey.columns))) {
        reasons.push(`${name} lacks primary key (${toTarget(source.primaryKey.columns).join(', ')})`);
      }
    }
    // Unique keys but the row key are built after the load: absent is fine, different is not.
    const afterLoad = new Set(postLoadUniqueKeys(route).map((u) => u.name));
    for (const unique of source.uniqueKeys.filter((u) => kept(u.columns))) {
      const have = existing.uniqueKeys.find((u) => u.name === unique.name);
      if (!have && afterLoad.has(unique.name)) continue;
      if (!have || !same(have.columns, toTarget(unique.columns)))
        reasons.push(`${name} lacks unique constraint ${unique.name}`);
    }
    for (const check of source.checks.filter((c) => kept(c.columns))) {
      const have = existing.checks.find((c) => c.name === check.name);
      if (!have || (!renamed && have.definition !== check.definition))
        reasons.push(`${name} lacks check constraint ${check.name}`);
    }
    if (partitioned) {
      // Partitions made on the monolith since are created (provision, copy and sync do it); one
      // the monolith does not have is a different table.
      const wanted = new Set(source.partitions.map((p) => key(p)));
      const extra = existing.partitions.map((p) => key(p)).filter((p) => !wanted.has(p));
      if (extra.length > 0)
        reasons.push(`${name} has partitions the monolith does not have: ${extra.sort().join(', ')}`);
    }
  } else {
    const want = toTarget(route.key);
    if (!existing.primaryKey || !same(existing.primaryKey.columns, want)) {
      reasons.push(`${name} lacks primary key ${projectionKeyName(route)} (${want.join(', ')})`);
    }
  }
  return reasons.length ? { state: 'conflict', reasons } : { state: 'present' };
}
