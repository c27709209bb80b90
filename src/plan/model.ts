import type { PlanLocation } from './problems.js';

/**
 * A plan as carve uses it: the YAML file validated, interpolated and normalized (defaults filled,
 * maps turned into ordered lists). Every element keeps the `path` of its key in the file, so later
 * checks against the live monolith can still point at the line to fix.
 */
export interface Plan {
  /** Migration name; slot, publication and file names derive from it. */
  name: string;
  /** The plan file, when loaded from one. */
  file?: string;
  /** Monolith connection URL. */
  source: string;
  /** Target server admin URL (the database in it is only used for server-level statements). */
  target: string;
  /** What sync does on source DDL (docs/sync.md, Schema changes). */
  schemaChanges: 'apply_compatible' | 'stop';
  /** In file order; provision numbers its SQL files by this order. */
  services: PlanService[];
  projections: PlanProjection[];
  exclude: PlanTableName[];
  /** Change events on a broker (plan `events:`), when configured. */
  events?: PlanEvents;
  /** Position in the file of each path, for messages. */
  locations: Record<string, PlanLocation>;
}

export interface PlanService {
  name: string;
  database: string;
  /** Login role of the service; default `<service>_service`. */
  role: string;
  roleIsDefault: boolean;
  /** Environment variable holding the role password. */
  passwordEnv?: string;
  /**
   * carve's own login in this service's database (copy, sync, verify, status run as it; never a
   * superuser, see docs/security.md); default `carve_<service>`.
   */
  carveRole: string;
  carveRoleIsDefault: boolean;
  /** Environment variable holding carve's role password (else generated into the secrets dir). */
  carvePasswordEnv?: string;
  /** Admin URL of the server holding this service's database (the plan's `target` unless overridden). */
  target: string;
  readonly: boolean;
  auditTable?: string;
  tables: PlanTable[];
  path: string;
}

export interface PlanTable {
  /** Table name in the service database. */
  name: string;
  /** Table name in the monolith (default: the same name). */
  from: string;
  /** Monolith schema; when absent, `public` if the table is there, else the only schema that has it. */
  schema?: string;
  /** Renames: target column ← source column. */
  columns: PlanColumnRename[];
  /** Source columns not migrated. */
  drop: { name: string; path: string }[];
  path: string;
}

export interface PlanColumnRename {
  target: string;
  from: string;
  path: string;
}

export interface PlanProjection {
  from: string;
  schema?: string;
  service: string;
  table: string;
  /** Source columns to project (`name`) and their name in the projection; absent means every column. */
  columns?: { name: string; target: string; path: string }[];
  path: string;
}

export interface PlanTableName {
  name: string;
  schema?: string;
  path: string;
}

export interface PlanEvents {
  /** Exactly one of kafka and nats is set. */
  kafka?: {
    brokers: string[];
    topicPrefix: string;
    clientId: string;
    /** Partitions of each topic carve creates. */
    partitions: number;
    /** -1: the broker's default. */
    replicationFactor: number;
  };
  nats?: PlanNats;
  /** Monolith tables to publish as written (`table` or `schema.table`); absent: every routed table. */
  tables?: { name: string; path: string }[];
  /** Connect JSON with `schema` + `payload` (Debezium's default) or the payload only. */
  schemas: boolean;
  /** Snapshot reads (`op: r`) for the rows the copy loads (plan `events.snapshot`, default false). */
  snapshot: boolean;
  syncCompleted?: {
    topic: string;
    entities: { table: string; columns: string[]; path: string }[];
  };
  path: string;
}

/** `events.nats`: change events on NATS JetStream. */
export interface PlanNats {
  /** `nats://[user:password@]host:port` (credentials are never printed). */
  servers: string[];
  subjectPrefix: string;
  stream: string;
  /** The stream's duplicate window (Nats-Msg-Id de-duplication), milliseconds. */
  duplicateWindowMs: number;
  replicas: number;
}

/** carve's own schema in every target database (copy log, applied positions). */
export const STATE_SCHEMA = 'carve';

/** Names carve creates, derived from the plan name, each checked against the 63-byte limit. */
export interface MigrationNames {
  /** The plan's migration name, e.g. `caresync`. */
  migration: string;
  /** Logical replication slot on the monolith. */
  slot: string;
  /** Publication on the monolith covering every moving table. */
  publication: string;
  /** Schema in each target database holding carve's own state (copy log, applied position). */
  stateSchema: string;
}

export function migrationNames(name: string): MigrationNames {
  return { migration: name, slot: `carve_${name}`, publication: `carve_${name}`, stateSchema: STATE_SCHEMA };
}
