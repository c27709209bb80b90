import type { Catalog } from '../catalog/model.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { renderProvisionScript } from '../provision/render-schema.js';
import type { Routing, TableRoute } from '../routing/model.js';

/**
 * What re-provisions one route's table at the monolith's current shape, as the admin (the
 * provisioning role, docs/security.md): drop it (foreign keys into it go with it; carve post-load
 * recreates them after the copy), create it as carve provision does, and apply the service
 * database's grants again (idempotent). Pure.
 */
export function renderRecreate(routing: Routing, catalog: Catalog, route: TableRoute): string[] {
  const script = renderProvisionScript(catalog, routing, new Map());
  const database = script.databases.find((d) => d.service.database === route.database)!;
  const table = database.objects.find((o) => o.kind === 'table' && o.route.id === route.id)!;
  return [
    `DROP TABLE IF EXISTS ${quoteQualified(route.target.schema, route.target.name)} CASCADE`,
    ...table.statements,
    ...database.grants,
  ];
}

/**
 * Sequences owned by a column of the table (a serial): disowned before the table is dropped, so
 * DROP does not take them (and their position) along; the new table owns them again.
 */
export function disownSequencesSql(): string {
  return `SELECT format('ALTER SEQUENCE %s OWNED BY NONE', s.oid::regclass) AS statement
            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid
           WHERE d.refobjid = to_regclass($1) AND d.classid = 'pg_catalog.pg_class'::regclass
             AND d.deptype = 'a' AND s.relkind = 'S'`;
}

/**
 * One chunk of the copy, already in `pg_temp.resync_chunk`, into the table: rows sync deleted
 * since the snapshot (or all, after a truncate) stay out, and a row sync already wrote (newer
 * than the snapshot) wins. Parameters: migration, route id. Run while holding the state schema's
 * holds table EXCLUSIVE: no applier batch runs meanwhile, so every delete it committed is seen.
 * OVERRIDING SYSTEM VALUE: the monolith's key is kept in a `GENERATED ALWAYS AS IDENTITY` column
 * (else the insert is refused), as the applier does.
 */
export function renderMerge(stateSchema: string, route: TableRoute): string {
  const columns = route.columns.filter((c) => !c.generated).map((c) => quoteIdent(c.target));
  const keyMatch = route.key
    .map((k, i) => {
      const column = route.columns.find((c) => c.source === k)!;
      return `d.key[${i + 1}]::${column.type} = s.${quoteIdent(column.target)}`;
    })
    .join(' AND ');
  return `INSERT INTO ${quoteQualified(route.target.schema, route.target.name)} (${columns.join(', ')}) OVERRIDING SYSTEM VALUE
          SELECT ${columns.map((c) => `s.${c}`).join(', ')} FROM pg_temp.resync_chunk s
           WHERE NOT EXISTS (SELECT 1 FROM ${quoteQualified(stateSchema, 'resync_deleted')} d
                              WHERE d.migration = $1 AND d.route_id = $2 AND (d.key IS NULL OR (${keyMatch})))
          ON CONFLICT DO NOTHING`;
}
