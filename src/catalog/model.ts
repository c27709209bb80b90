/**
 * The monolith as read from pg_catalog: a frozen, plain-data model. Everything downstream
 * (routing, provisioning, copy, sync, verify) works from this model, never from ad-hoc catalog
 * queries, so a plan is judged against one consistent picture of the source.
 *
 * Type names are PostgreSQL's own rendering (format_type / pg_get_*def), already quoted where
 * PostgreSQL quotes them, so DDL can be rendered from them verbatim.
 */

export interface TableRef {
  schema: string;
  name: string;
}

export interface CatalogColumn {
  name: string;
  attnum: number;
  /** format_type(atttypid, atttypmod), e.g. `numeric(12,2)`, `text[]`, `public.sex` */
  type: string;
  typeOid: number;
  /** When the type (or its element type) is a user-defined enum or domain: its schema and name. */
  userType?: TableRef & { kind: 'enum' | 'domain' | 'composite' | 'range' | 'base' };
  notNull: boolean;
  /** pg_get_expr of the default, when there is one and the column is not generated/identity. */
  default?: string;
  identity?: 'always' | 'by default';
  /** pg_get_expr of a STORED generated column. */
  generated?: string;
  collation?: string;
  /** attstorage: 'p' plain, 'e' external, 'm' main, 'x' extended — x/e columns can be TOASTed. */
  storage: 'p' | 'e' | 'm' | 'x';
  /** The sequence this column draws from: its identity sequence, or the one its default calls nextval on. */
  sequence?: TableRef;
  /** For generated columns: the columns the expression reads (pg_depend). */
  dependsOn?: string[];
}

export interface CatalogKey {
  name: string;
  columns: string[];
  /** pg_get_constraintdef, e.g. `PRIMARY KEY (id)` */
  definition: string;
  /** On a partition: the key is its parent's (created by the parent's key), not declared on it. */
  inherited?: boolean;
}

export interface CatalogForeignKey {
  name: string;
  table: TableRef;
  columns: string[];
  references: TableRef;
  referencedColumns: string[];
  /** pg_get_constraintdef, e.g. `FOREIGN KEY (a) REFERENCES s.t(id) ON DELETE CASCADE` */
  definition: string;
  onDelete: 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';
  onUpdate: 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';
  deferrable: boolean;
  validated: boolean;
  /** Added by introspect (optional for hand-built fixtures): MATCH type and INITIALLY DEFERRED. */
  match?: 'simple' | 'full' | 'partial';
  initiallyDeferred?: boolean;
}

export interface CatalogCheck {
  name: string;
  definition: string;
  /** Check constraints declared NOT VALID are recreated as such. */
  validated: boolean;
  /** The columns the check reads (conkey); filled by introspect. */
  columns?: string[];
  /** On a partition: inherited from its parent and not declared on the partition itself. */
  inherited?: boolean;
}

export interface CatalogIndex {
  name: string;
  /** pg_get_indexdef, schema-qualified as PostgreSQL renders it. */
  definition: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  /** The constraint this index implements (PK / UNIQUE / EXCLUDE), if any. */
  constraint?: string;
  /** Expression or partial indexes cannot be used as a row key. */
  isExpressionOrPartial: boolean;
  /** The definition from `USING` on (`USING btree (a, b) WHERE …`), to re-render it on a renamed table. */
  usingClause?: string;
  /** Every column the index reads, including in expressions and its predicate (pg_depend). */
  referencedColumns?: string[];
  /**
   * On a partition: the index is attached to an index of its parent (PostgreSQL creates it with the
   * parent's), as opposed to one declared on the partition alone.
   */
  inherited?: boolean;
}

export type ReplicaIdentity = 'default' | 'full' | 'nothing' | 'index';

export interface CatalogTable extends TableRef {
  oid: number;
  /** table = ordinary, partitioned = a partitioned parent, partition = a leaf of one. */
  kind: 'table' | 'partitioned' | 'partition';
  parent?: TableRef;
  /** pg_get_expr(relpartbound), for partitions: `FOR VALUES FROM (…) TO (…)` */
  partitionBound?: string;
  /** pg_get_partkeydef, for partitioned parents: `RANGE (recorded_at)` */
  partitionKey?: string;
  /**
   * Leaf partitions, for partitioned parents (recursively flattened). Objects declared on single
   * partitions (not inherited: see `inherited` on keys, checks and indexes) are on the partitions'
   * own entries in Catalog.tables.
   */
  partitions: TableRef[];
  unlogged: boolean;
  replicaIdentity: ReplicaIdentity;
  /** For replicaIdentity 'index': the index name. */
  replicaIdentityIndex?: string;
  columns: CatalogColumn[];
  primaryKey?: CatalogKey;
  uniqueKeys: CatalogKey[];
  foreignKeys: CatalogForeignKey[];
  checks: CatalogCheck[];
  indexes: CatalogIndex[];
  /** reltuples (summed over partitions); -1 when never analyzed. */
  rowEstimate: number;
  /** pg_total_relation_size (summed over partitions). */
  totalBytes: number;
  /** Size of the heap alone (pg_relation_size), for chunk planning. */
  heapBytes: number;
  toastBytes: number;
  /** relpages (heap blocks), for ctid-range chunking. */
  pages: number;
}

export interface CatalogSequence extends TableRef {
  dataType: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  /** Current value as last_value (null when never called). */
  lastValue: string | null;
  /** The column whose default or identity uses this sequence. */
  ownedBy?: TableRef & { column: string };
  /** True when this is the implicit sequence of an identity column. */
  identity: boolean;
}

export interface CatalogEnum extends TableRef {
  oid: number;
  labels: string[];
}

export interface CatalogDomain extends TableRef {
  oid: number;
  /** format_type of the base type */
  baseType: string;
  notNull: boolean;
  default?: string;
  checks: { name: string; definition: string }[];
}

export interface CatalogExtension {
  name: string;
  schema: string;
  version: string;
}

export interface Catalog {
  database: string;
  /** server_version_num, e.g. 150019 */
  serverVersionNum: number;
  /** Schemas holding at least one user object (excludes pg_catalog, information_schema, pg_toast). */
  schemas: string[];
  /** Ordinary tables, partitioned parents and their partitions. */
  tables: CatalogTable[];
  sequences: CatalogSequence[];
  enums: CatalogEnum[];
  domains: CatalogDomain[];
  extensions: CatalogExtension[];
}

export function tableKey(ref: TableRef): string {
  return `${ref.schema}.${ref.name}`;
}

export function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}
