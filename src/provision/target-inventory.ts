import { introspect } from '../catalog/introspect.js';
import type { Catalog } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';

/** What a target database already holds, read before anything is written. */
export interface TargetInventory {
  catalog: Catalog;
  schemas: Set<string>;
  /** `schema.name` → relkind, for every relation (tables, views, sequences, indexes …). */
  relations: Map<string, string>;
  /** `schema.name` → typtype, for every non-array type outside pg_catalog. */
  types: Map<string, string>;
  /** extension → schema */
  extensions: Map<string, string>;
}

export async function readTargetInventory(client: Client): Promise<TargetInventory> {
  const catalog = await introspect(client);
  const schemas = new Set(
    (await client.query<{ name: string }>('SELECT nspname AS name FROM pg_catalog.pg_namespace')).rows.map(
      (r) => r.name,
    ),
  );
  const relations = new Map(
    (
      await client.query<{ key: string; kind: string }>(
        `SELECT n.nspname || '.' || c.relname AS key, c.relkind::text AS kind
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
      )
    ).rows.map((r) => [r.key, r.kind]),
  );
  const types = new Map(
    (
      await client.query<{ key: string; kind: string }>(
        `SELECT n.nspname || '.' || t.typname AS key, t.typtype::text AS kind
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND t.typcategory <> 'A'`,
      )
    ).rows.map((r) => [r.key, r.kind]),
  );
  const extensions = new Map(catalog.extensions.map((x) => [x.name, x.schema]));
  return { catalog, schemas, relations, types, extensions };
}
