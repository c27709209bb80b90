import type {
  CatalogCheck,
  CatalogForeignKey,
  CatalogIndex,
  CatalogKey,
  CatalogTable,
  TableRef,
} from '../catalog/model.js';
import type { MigrationNames } from '../plan/model.js';

/**
 * The resolved placement of a plan on a catalog: which monolith table goes where, under what name,
 * with which columns. Provision, copy, sync and verify all work from this one model.
 */

export interface RoutedColumn {
  /** Column name in the monolith. */
  source: string;
  /** Column name in the target table. */
  target: string;
  /** format_type of the column (same on both sides: carve does not change types). */
  type: string;
  /**
   * STORED generated columns are recomputed by the target: never copied, never applied.
   * They still appear here so that provision creates them and verify compares them.
   */
  generated: boolean;
}

export interface TableRoute {
  /** Stable identifier, `<database>/<schema>.<table>` of the target; used in state tables and events. */
  id: string;
  /** owned: the service's own copy of the table. projection: a read-only column subset in another service. */
  kind: 'owned' | 'projection';
  service: string;
  database: string;
  source: TableRef;
  target: TableRef;
  /** In target column order. Excludes dropped columns (and, for projections, unprojected ones). */
  columns: RoutedColumn[];
  /**
   * The row key, as source column names: the primary key, or the replica-identity index.
   * Every route has one (a table without a usable key is rejected by plan checks).
   */
  key: string[];
  /**
   * Leaf partitions to read when the source is partitioned (copied per partition), else empty.
   * Changes of partitions arrive as the root table (the publication publishes via the root).
   */
  sourcePartitions: TableRef[];
  /** Service roles may not write it: shared_db tables and projections. */
  readonly: boolean;
  /** The catalog entry of the source table (partitioned parent for partitioned tables). */
  sourceTable: CatalogTable;
  /**
   * Owned partitioned tables: every partition below (intermediate levels and leaves, parents
   * first), each with what was declared on it alone. Partitions keep their source schema and name
   * in the target. Empty or absent otherwise. Foreign keys declared on partitions are in the kept
   * and cut lists like the table's own.
   */
  partitionTree?: RoutedPartition[];
  /**
   * Columns added on the monolith later reach this route too: every owned table (all columns but
   * the plan's `drop`), and projections that list no `columns`.
   */
  allColumns?: boolean;
  /** Source columns deliberately not migrated (the plan's `drop`); empty for projections. */
  droppedColumns?: string[];
}

/** A partition of an owned partitioned table, and the objects declared on it alone. */
export interface RoutedPartition {
  table: CatalogTable;
  /** Primary or unique keys declared on the partition (not its parent's). */
  keys: CatalogKey[];
  /** Indexes declared on the partition (not attached to one of its parent's). */
  indexes: CatalogIndex[];
  /** Check constraints declared on the partition (not inherited). */
  checks: CatalogCheck[];
  /** Columns (source names) NOT NULL on the partition but nullable on its parent. */
  notNull: string[];
}

/**
 * A foreign key between two tables that land in the same database: recreated after the load.
 * Either end may be a partition (a key declared on a partition, or one referencing a partition).
 */
export interface KeptForeignKey {
  name: string;
  database: string;
  from: TableRef;
  columns: string[];
  to: TableRef;
  toColumns: string[];
  source: CatalogForeignKey;
  /** The referencing table is partitioned (PostgreSQL 15 cannot add a NOT VALID key to it). */
  fromPartitioned: boolean;
}

/**
 * A foreign key whose two tables land in different databases: dropped, and checked by verify.
 * `table` of either end may be a partition of the route's table.
 */
export interface CutForeignKey {
  name: string;
  /** The referencing side (target names). */
  from: { routeId: string; database: string; table: TableRef; columns: string[] };
  /** The referenced side (target names), in another database. */
  to: { routeId: string; database: string; table: TableRef; columns: string[] };
  source: CatalogForeignKey;
}

export interface ServiceRoute {
  name: string;
  database: string;
  /**
   * The URL of carve's own sessions in this database (copy, sync, verify, status): the server,
   * port and TLS parameters of the plan's `target`, this database, and `carveRole` as the user —
   * never the admin (docs/security.md). Built without a password; withCarveLogins() adds the
   * role's password from `carvePasswordEnv` or the secrets dir (without one, ~/.pgpass or the
   * server's trust/certificate rules apply).
   */
  url: string;
  /** Admin URL for this database (the plan's `target` pointed at it): provision only. */
  adminUrl: string;
  /** The service's login role. */
  role: string;
  /**
   * carve's login role for this database: a member of `role` (so it has exactly the service's
   * rights on its tables) plus what carve needs (its state, the projections, replica mode).
   */
  carveRole: string;
  /** Environment variable holding carveRole's password (else the secrets dir). */
  carvePasswordEnv?: string;
  /** shared_db: readable by every service role, writable by none. */
  readonly: boolean;
  /** Owned tables and projections placed in this database. */
  tables: TableRoute[];
  /** Route ids in load order: referenced tables before referencing ones (FK topological order). */
  loadOrder: string[];
  keptForeignKeys: KeptForeignKey[];
  /** The empty audit table this database gets, when the plan names one. */
  auditTable?: TableRef;
  /** Admin URL of the target server (the plan's `target`), for roles and CREATE DATABASE. */
  serverUrl?: string;
  /** Environment variable holding the role's password (else provision generates one). */
  passwordEnv?: string;
}

export interface PlanWarning {
  code: string;
  message: string;
  table?: TableRef;
  column?: string;
}

export interface Routing {
  names: MigrationNames;
  sourceUrl: string;
  services: ServiceRoute[];
  /** Every route of every service, owned routes first. */
  routes: TableRoute[];
  cutForeignKeys: CutForeignKey[];
  /** Monolith tables deliberately not migrated. */
  excluded: TableRef[];
  warnings: PlanWarning[];
  /** What the streaming engine does on a source DDL change (plan `schema_changes`); absent means 'apply_compatible'. */
  schemaChanges?: 'apply_compatible' | 'stop';
  /** The plan file the routing was built from, when it came from one (named in hints). */
  planFile?: string;
  /** Change events on a broker (plan `events:`), when configured. */
  events?: EventRouting;
}

/** The plan's `events:` resolved against the routing (src/routing/event-routes.ts). */
export interface EventRouting {
  kafka?: {
    brokers: string[];
    topicPrefix: string;
    clientId: string;
    partitions: number;
    replicationFactor: number;
  };
  /** NATS JetStream instead of Kafka (exactly one of the two is set). */
  nats?: {
    servers: string[];
    subjectPrefix: string;
    stream: string;
    duplicateWindowMs: number;
    replicas: number;
  };
  /** Topic (Kafka) or subject (NATS) prefix: Debezium's `source.name`. */
  prefix: string;
  schemas: boolean;
  /** Published monolith tables: topic (NATS: subject) and published columns (monolith names, the owner route's order). */
  tables: { source: TableRef; topic: string; columns: string[]; routeId: string }[];
  /** carve's own topic: the publisher's position and offset ranges, written in each Kafka transaction. */
  checkpointTopic: string;
  /** The copy publishes a snapshot read (`op: r`) of every row it loads of a published table. */
  snapshot: boolean;
  /** carve's own topic for snapshot reads: one record per published chunk, in the chunk's Kafka transaction. */
  snapshotTopic: string;
  syncCompleted?: { topic: string; entities: { source: TableRef; columns: string[] }[] };
}

/** Routes fed by one monolith table: its owner first, then its projections. */
export function routesForSource(routing: Routing, source: TableRef): TableRoute[] {
  return routing.routes.filter((r) => r.source.schema === source.schema && r.source.name === source.name);
}

export function serviceOf(routing: Routing, route: TableRoute): ServiceRoute {
  const service = routing.services.find((s) => s.name === route.service);
  if (!service) throw new Error(`route ${route.id} names unknown service ${route.service}`);
  return service;
}
