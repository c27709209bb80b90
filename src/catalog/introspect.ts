import type { Client } from '../pg/connect.js';
import { deepFreeze } from './deep-freeze.js';
import type {
  Catalog,
  CatalogCheck,
  CatalogColumn,
  CatalogDomain,
  CatalogEnum,
  CatalogExtension,
  CatalogForeignKey,
  CatalogIndex,
  CatalogKey,
  CatalogSequence,
  CatalogTable,
  ReplicaIdentity,
  TableRef,
} from './model.js';
import {
  COLUMNS_SQL,
  CONSTRAINTS_SQL,
  DATABASE_SQL,
  DOMAINS_SQL,
  ENUMS_SQL,
  EXTENSIONS_SQL,
  INDEXES_SQL,
  SEQUENCES_SQL,
  TABLES_SQL,
} from './queries.js';

export interface IntrospectOptions {
  /**
   * Run the queries in their own REPEATABLE READ READ ONLY transaction (default). Pass false when
   * the client is already inside a transaction (e.g. one attached to an exported snapshot).
   */
  ownTransaction?: boolean;
}

/**
 * Read the connected database's user objects from pg_catalog into a deep-frozen Catalog. System
 * schemas and objects that belong to extensions are left out; everything is read from one snapshot.
 */
export async function introspect(client: Client, options: IntrospectOptions = {}): Promise<Catalog> {
  const own = options.ownTransaction !== false;
  if (own) await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const previous = (await client.query<{ p: string }>(`SELECT current_setting('search_path') AS p`)).rows[0]!
    .p;
  try {
    await client.query(`SELECT set_config('search_path', '', true)`);
    const catalog = await readCatalog(client);
    if (own) await client.query('COMMIT');
    else await client.query(`SELECT set_config('search_path', $1, true)`, [previous]);
    return deepFreeze(catalog);
  } catch (error) {
    if (own) await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

type Row = Record<string, unknown>;

const num = (value: unknown): number => Number(value ?? 0);
const str = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

async function readCatalog(client: Client): Promise<Catalog> {
  const info = (await client.query(DATABASE_SQL)).rows[0] as Row;
  const tableRows = (await client.query(TABLES_SQL)).rows as Row[];
  const oids = tableRows.map((r) => String(r.oid));
  const [columnRows, constraintRows, indexRows, sequenceRows, enumRows, domainRows, extensionRows] = [
    (await client.query(COLUMNS_SQL, [oids])).rows as Row[],
    (await client.query(CONSTRAINTS_SQL, [oids])).rows as Row[],
    (await client.query(INDEXES_SQL, [oids])).rows as Row[],
    (await client.query(SEQUENCES_SQL)).rows as Row[],
    (await client.query(ENUMS_SQL)).rows as Row[],
    (await client.query(DOMAINS_SQL)).rows as Row[],
    (await client.query(EXTENSIONS_SQL)).rows as Row[],
  ];

  const byOid = new Map<string, CatalogTable>();
  const parentOid = new Map<string, string>();
  for (const r of tableRows) {
    const table = tableFromRow(r);
    byOid.set(String(r.oid), table);
    if (r.parent_oid !== null && r.parent_oid !== undefined)
      parentOid.set(String(r.oid), String(r.parent_oid));
  }
  for (const r of columnRows) byOid.get(String(r.relid))?.columns.push(columnFromRow(r));
  for (const r of constraintRows) {
    const table = byOid.get(String(r.relid));
    if (table) addConstraint(table, r);
  }
  for (const r of indexRows) byOid.get(String(r.relid))?.indexes.push(indexFromRow(r));

  for (const [child, parent] of parentOid) {
    const table = byOid.get(child)!;
    const parentTable = byOid.get(parent);
    if (parentTable) table.parent = { schema: parentTable.schema, name: parentTable.name };
  }
  rollUpPartitions(byOid, parentOid);

  const tables = [...byOid.values()];
  const sequences = sequenceRows.map(sequenceFromRow);
  const enums: CatalogEnum[] = enumRows.map((r) => ({
    oid: num(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    labels: r.labels as string[],
  }));
  const domains: CatalogDomain[] = domainRows.map((r) => ({
    oid: num(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    baseType: String(r.base_type),
    notNull: Boolean(r.not_null),
    ...(r.default_expr ? { default: String(r.default_expr) } : {}),
    checks: (typeof r.checks === 'string' ? JSON.parse(r.checks) : r.checks) as {
      name: string;
      definition: string;
    }[],
  }));
  const extensions: CatalogExtension[] = extensionRows.map((r) => ({
    name: String(r.name),
    schema: String(r.schema),
    version: String(r.version),
  }));
  const schemas = new Set<string>();
  for (const o of [...tables, ...sequences, ...enums, ...domains]) schemas.add(o.schema);
  for (const x of extensions) if (x.schema !== 'pg_catalog') schemas.add(x.schema);

  return {
    database: String(info.database),
    serverVersionNum: num(info.version),
    schemas: [...schemas].sort(),
    tables,
    sequences,
    enums,
    domains,
    extensions,
  };
}

function tableFromRow(r: Row): CatalogTable {
  const replident: Record<string, ReplicaIdentity> = { d: 'default', f: 'full', n: 'nothing', i: 'index' };
  const kind = r.relkind === 'p' && !r.is_partition ? 'partitioned' : r.is_partition ? 'partition' : 'table';
  return {
    oid: num(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    kind,
    ...(r.bound ? { partitionBound: String(r.bound) } : {}),
    ...(r.partkey ? { partitionKey: String(r.partkey) } : {}),
    partitions: [],
    unlogged: r.persistence === 'u',
    replicaIdentity: replident[String(r.replident)] ?? 'default',
    ...(r.replident === 'i' && r.ri_index ? { replicaIdentityIndex: String(r.ri_index) } : {}),
    columns: [],
    uniqueKeys: [],
    foreignKeys: [],
    checks: [],
    indexes: [],
    rowEstimate: num(r.reltuples),
    totalBytes: num(r.total_bytes),
    heapBytes: num(r.heap_bytes),
    toastBytes: num(r.toast_bytes),
    pages: num(r.relpages),
  };
}

function columnFromRow(r: Row): CatalogColumn {
  const identity = r.identity === 'a' ? 'always' : r.identity === 'd' ? 'by default' : undefined;
  const generated = r.generated === 's';
  const kinds = { e: 'enum', d: 'domain', c: 'composite', r: 'range', m: 'range', b: 'base' } as const;
  const sequence = r.sequence as string[] | null;
  return {
    name: String(r.name),
    attnum: num(r.attnum),
    type: String(r.type),
    typeOid: num(r.type_oid),
    ...(r.user_type_name
      ? {
          userType: {
            schema: String(r.user_type_schema),
            name: String(r.user_type_name),
            kind: kinds[String(r.user_type_kind) as keyof typeof kinds] ?? 'base',
          },
        }
      : {}),
    notNull: Boolean(r.not_null),
    ...(r.expr && !generated && !identity ? { default: String(r.expr) } : {}),
    ...(identity ? { identity } : {}),
    ...(generated ? { generated: String(r.expr), dependsOn: (r.depends_on as string[] | null) ?? [] } : {}),
    ...(r.collation ? { collation: String(r.collation) } : {}),
    storage: String(r.storage) as CatalogColumn['storage'],
    ...(sequence ? { sequence: { schema: sequence[0]!, name: sequence[1]! } } : {}),
  };
}

const ACTIONS = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' } as const;
const MATCH = { s: 'simple', f: 'full', p: 'partial' } as const;

function addConstraint(table: CatalogTable, r: Row): void {
  const columns = r.columns as string[];
  const definition = String(r.definition);
  const name = String(r.name);
  const inherited = Boolean(r.inherited);
  if (r.type === 'p' || r.type === 'u') {
    const key: CatalogKey = { name, columns, definition, ...(inherited ? { inherited } : {}) };
    if (r.type === 'p') table.primaryKey = key;
    else table.uniqueKeys.push(key);
  } else if (r.type === 'c') {
    const check: CatalogCheck = {
      name,
      definition,
      validated: Boolean(r.validated),
      columns,
      ...(inherited ? { inherited } : {}),
    };
    table.checks.push(check);
  } else if (r.type === 'f') {
    const fk: CatalogForeignKey = {
      name,
      table: { schema: table.schema, name: table.name },
      columns,
      references: { schema: String(r.ref_schema), name: String(r.ref_name) },
      referencedColumns: r.ref_columns as string[],
      definition,
      onDelete: ACTIONS[String(r.on_delete) as keyof typeof ACTIONS] ?? 'no action',
      onUpdate: ACTIONS[String(r.on_update) as keyof typeof ACTIONS] ?? 'no action',
      deferrable: Boolean(r.deferrable),
      validated: Boolean(r.validated),
      match: MATCH[String(r.match) as keyof typeof MATCH] ?? 'simple',
      initiallyDeferred: Boolean(r.deferred),
    };
    table.foreignKeys.push(fk);
  }
}

function indexFromRow(r: Row): CatalogIndex {
  const definition = String(r.definition);
  const prefix = String(r.prefix);
  const constraint = str(r.constraint_name);
  return {
    name: String(r.name),
    definition,
    columns: r.columns as string[],
    unique: Boolean(r.is_unique),
    primary: Boolean(r.is_primary),
    ...(constraint ? { constraint } : {}),
    isExpressionOrPartial: Boolean(r.expr_or_partial),
    // pg_get_indexdef renders exactly this prefix (quote_ident is the same quote_identifier); if a
    // future server renders it differently, leave the clause out rather than guess.
    ...(definition.startsWith(prefix) ? { usingClause: definition.slice(prefix.length) } : {}),
    referencedColumns: r.referenced as string[],
    ...(r.inherited ? { inherited: true } : {}),
  };
}

function sequenceFromRow(r: Row): CatalogSequence {
  return {
    schema: String(r.schema),
    name: String(r.name),
    dataType: String(r.data_type),
    start: String(r.start),
    increment: String(r.increment),
    min: String(r.min),
    max: String(r.max),
    cache: String(r.cache),
    cycle: Boolean(r.cycle),
    lastValue: str(r.last_value) ?? null,
    ...(r.owner_name
      ? {
          ownedBy: {
            schema: String(r.owner_schema),
            name: String(r.owner_name),
            column: String(r.owner_column),
          },
        }
      : {}),
    identity: r.owned_deptype === 'i',
  };
}

/**
 * Partitioned parents list their leaf partitions (recursively) and carry the leaves' sizes and
 * row estimates, since the parent itself stores nothing.
 */
function rollUpPartitions(byOid: Map<string, CatalogTable>, parentOid: Map<string, string>): void {
  const children = new Map<string, string[]>();
  for (const [child, parent] of parentOid) children.set(parent, [...(children.get(parent) ?? []), child]);
  const leavesOf = (oid: string): string[] =>
    (children.get(oid) ?? []).flatMap((c) => (byOid.get(c)!.partitionKey ? leavesOf(c) : [c]));
  for (const [oid, table] of byOid) {
    if (!table.partitionKey) continue;
    const leaves = leavesOf(oid)
      .map((c) => byOid.get(c)!)
      .sort((a, b) => cmp(a.schema, b.schema) || cmp(a.name, b.name));
    table.partitions = leaves.map((l): TableRef => ({ schema: l.schema, name: l.name }));
    const analyzed = leaves.filter((l) => l.rowEstimate >= 0);
    table.rowEstimate =
      leaves.length > 0 && analyzed.length === 0 ? -1 : sum(analyzed.map((l) => l.rowEstimate));
    table.totalBytes = sum(leaves.map((l) => l.totalBytes));
    table.heapBytes = sum(leaves.map((l) => l.heapBytes));
    table.toastBytes = sum(leaves.map((l) => l.toastBytes));
    table.pages = sum(leaves.map((l) => l.pages));
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
