import type { CatalogColumn, CatalogTable } from '../../src/catalog/model.js';
import type { Routing, TableRoute } from '../../src/routing/model.js';
import type { RelationMessage } from '../../src/sync/pgoutput/messages.js';

/** Hand-built routing pieces for sync unit tests (no database). */

const TYPE_OIDS: Record<string, number> = {
  integer: 23,
  bigint: 20,
  text: 25,
  jsonb: 3802,
  'numeric(12,2)': 1700,
};

export function column(name: string, type: string, extra: Partial<CatalogColumn> = {}): CatalogColumn {
  return { name, attnum: 0, type, typeOid: TYPE_OIDS[type] ?? 25, notNull: false, storage: 'x', ...extra };
}

export function table(schema: string, name: string, columns: CatalogColumn[], key: string[]): CatalogTable {
  return {
    schema,
    name,
    oid: 1,
    kind: 'table',
    partitions: [],
    unlogged: false,
    replicaIdentity: 'default',
    columns: columns.map((c, i) => ({ ...c, attnum: i + 1 })),
    primaryKey: { name: `${name}_pkey`, columns: key, definition: '' },
    uniqueKeys: [],
    foreignKeys: [],
    checks: [],
    indexes: [],
    rowEstimate: 0,
    totalBytes: 0,
    heapBytes: 0,
    toastBytes: 0,
    pages: 0,
  };
}

export function route(
  source: CatalogTable,
  options: {
    kind?: 'owned' | 'projection';
    database: string;
    target?: string;
    columns?: string[];
    renames?: Record<string, string>;
    generated?: string[];
  },
): TableRoute {
  const target = { schema: source.schema, name: options.target ?? source.name };
  const names = options.columns ?? source.columns.map((c) => c.name);
  return {
    id: `${options.database}/${target.schema}.${target.name}`,
    kind: options.kind ?? 'owned',
    service: options.database,
    database: options.database,
    source: { schema: source.schema, name: source.name },
    target,
    columns: names.map((n) => ({
      source: n,
      target: options.renames?.[n] ?? n,
      type: source.columns.find((c) => c.name === n)!.type,
      generated: options.generated?.includes(n) ?? false,
    })),
    key: source.primaryKey!.columns,
    sourcePartitions: [],
    readonly: options.kind === 'projection',
    sourceTable: source,
    allColumns: options.kind !== 'projection' || options.columns === undefined,
  };
}

export function routing(routes: TableRoute[], schemaChanges?: Routing['schemaChanges']): Routing {
  const databases = [...new Set(routes.map((r) => r.database))];
  return {
    names: { migration: 'm', slot: 'carve_m', publication: 'carve_m', stateSchema: 'carve' },
    sourceUrl: 'postgres://source/mono',
    services: databases.map((database) => ({
      name: database,
      database,
      url: `postgres://carve_${database}@target/${database}`,
      adminUrl: `postgres://target/${database}`,
      role: `${database}_role`,
      carveRole: `carve_${database}`,
      readonly: false,
      tables: routes.filter((r) => r.database === database),
      loadOrder: [],
      keptForeignKeys: [],
    })),
    routes,
    cutForeignKeys: [],
    excluded: [],
    warnings: [],
    ...(schemaChanges ? { schemaChanges } : {}),
  };
}

/** The Relation message pgoutput would send for `source` (generated columns are not sent). */
export function relationOf(
  source: CatalogTable,
  options: { relationId?: number; skip?: string[]; extra?: RelationMessage['columns'] } = {},
): RelationMessage {
  const key = source.primaryKey!.columns;
  return {
    tag: 'relation',
    relationId: options.relationId ?? 16384,
    schema: source.schema,
    name: source.name,
    replicaIdentity: source.replicaIdentity,
    columns: [
      ...source.columns
        .filter((c) => !c.generated && !options.skip?.includes(c.name))
        .map((c) => ({
          name: c.name,
          flags: key.includes(c.name) ? 1 : 0,
          isKey: key.includes(c.name),
          typeOid: c.typeOid,
          typeMod: -1,
        })),
      ...(options.extra ?? []),
    ],
  };
}
