import type { CatalogDomain, CatalogEnum, CatalogSequence, TableRef } from '../catalog/model.js';
import type { ServiceRoute, TableRoute } from '../routing/model.js';

/**
 * Rendered DDL: an ordered list of objects, each with the statements that create it. The same
 * objects feed direct provisioning (which first checks what exists) and the --dry-run SQL files,
 * so both produce the same catalog.
 */
export type DdlObject =
  | { kind: 'role'; name: string; role: string; statements: string[] }
  | { kind: 'database'; name: string; database: string; statements: string[] }
  | { kind: 'schema'; name: string; schema: string; statements: string[] }
  | { kind: 'extension'; name: string; extension: string; schema: string; statements: string[] }
  | { kind: 'enum'; name: string; type: CatalogEnum; statements: string[] }
  | { kind: 'domain'; name: string; type: CatalogDomain; statements: string[] }
  | { kind: 'sequence'; name: string; sequence: CatalogSequence; statements: string[] }
  | { kind: 'table'; name: string; route: TableRoute; statements: string[] }
  | { kind: 'audit-table'; name: string; table: TableRef; statements: string[] };

export type DdlKind = DdlObject['kind'];

/** Everything one service database gets before the load, in execution order. */
export interface DatabaseDdl {
  service: ServiceRoute;
  /** CREATE DATABASE (server level, outside any transaction). */
  database: Extract<DdlObject, { kind: 'database' }>;
  /** Schema objects, run inside the database in one transaction. */
  objects: DdlObject[];
  /** Ownership and privileges; idempotent, re-applied on every run. */
  grants: string[];
}

/** Built after the load: secondary indexes and the foreign keys kept inside the database. */
export type PostLoadObject =
  | {
      kind: 'index';
      name: string;
      /** The table the index is on: a route's table or one of its partitions. */
      table: TableRef;
      /**
       * The route's target table (`schema.name`): indexes of one group are built one after the
       * other, in order (partition-level ones before the table's own).
       */
      group: string;
      index: string;
      statements: string[];
    }
  | {
      kind: 'foreign-key';
      name: string;
      table: TableRef;
      constraint: string;
      /** Adds the constraint (NOT VALID when the table allows it). */
      add: string[];
      /** Validates it; empty when the source constraint is itself NOT VALID. */
      validate: string[];
    };

export interface ProvisionScript {
  /** Login roles, two per service: the service's, then carve's (server level). */
  roles: Extract<DdlObject, { kind: 'role' }>[];
  /**
   * Per service, what carve's role is granted at server level (membership in the service role,
   * SET on session_replication_role). Idempotent; re-applied on every run.
   */
  roleGrants: { service: ServiceRoute; statements: string[] }[];
  /** One per service, in plan order. */
  databases: DatabaseDdl[];
}
