import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { ServiceRoute } from '../routing/model.js';

/**
 * Code that a service could have planted where carve writes or reads.
 *
 * carve's sessions in a service database run as carve's role for that service, which has the
 * service's rights plus carve's own (its state, the projections): code the service plants on those
 * tables would run with that little extra. So before copy, before every sync session and before
 * verify, carve refuses tables that carry code it did not create and cannot vouch for:
 *
 * - triggers of any kind (row or statement, ENABLE ALWAYS / REPLICA / ORIGIN, constraint triggers)
 *   whose function — or WHEN clause — uses a function, operator or type a service could have
 *   written;
 * - rules, row-level security and policies (carve creates none);
 * - CHECK and other constraints, defaults, generated columns and indexes (expressions and
 *   predicates) that use such a function, operator or type, and columns of such a type;
 * - a relation that is not a table any more (a view, say, in place of the table).
 *
 * "A service could have written it" = it is owned by a role that is neither a superuser nor the
 * database's owner (the admin who provisioned it): built-ins, extensions and the admin's own code
 * are trusted; a service role, carve's role and anyone else are not. Partitions and inheritance
 * children are checked with their parents, carve's state tables with the routed ones.
 */

import type { ForeignObject } from '../error-catalogue.js';

export type { ForeignObject };

const GUARD_SQL = `
WITH RECURSIVE
  named AS (
    SELECT c.oid FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS t(schema_name, table_name)
      JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
      JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
    UNION
    SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $3 AND c.relkind IN ('r', 'p')
  ),
  rels AS (
    SELECT oid FROM named
    UNION
    SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN rels r ON i.inhparent = r.oid
  ),
  trusted AS (
    SELECT oid FROM pg_catalog.pg_roles WHERE rolsuper
    UNION
    SELECT datdba FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()
  ),
  foreign_code AS (
    SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass AS classid, p.oid AS objid, p.proowner AS owner
      FROM pg_catalog.pg_proc p WHERE p.proowner NOT IN (SELECT oid FROM trusted)
    UNION ALL
    SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid, o.oprowner
      FROM pg_catalog.pg_operator o WHERE o.oprowner NOT IN (SELECT oid FROM trusted)
    UNION ALL
    SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, t.typowner
      FROM pg_catalog.pg_type t WHERE t.typowner NOT IN (SELECT oid FROM trusted)
  ),
  uses AS (
    SELECT d.classid, d.objid, min(f.owner::pg_catalog.regrole::text) AS owner
      FROM pg_catalog.pg_depend d
      JOIN foreign_code f ON f.classid = d.refclassid AND f.objid = d.refobjid
     GROUP BY d.classid, d.objid
  ),
  found AS (
    SELECT c.oid AS rel, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
             WHEN 'f' THEN 'foreign table' ELSE 'relation' END AS kind, c.relname::text AS name,
           NULL::text AS owner, 0 AS generated
      FROM named x JOIN pg_catalog.pg_class c ON c.oid = x.oid WHERE c.relkind NOT IN ('r', 'p')
    UNION ALL
    SELECT tg.tgrelid, 'trigger', tg.tgname::text,
           coalesce(u.owner, CASE WHEN p.proowner NOT IN (SELECT oid FROM trusted)
                                  THEN p.proowner::pg_catalog.regrole::text END), 0
      FROM pg_catalog.pg_trigger tg
      JOIN pg_catalog.pg_proc p ON p.oid = tg.tgfoid
      LEFT JOIN uses u ON u.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND u.objid = tg.oid
     WHERE tg.tgrelid IN (SELECT oid FROM rels) AND NOT tg.tgisinternal
       AND (p.proowner NOT IN (SELECT oid FROM trusted) OR u.objid IS NOT NULL)
    UNION ALL
    SELECT r.ev_class, 'rule', r.rulename::text, NULL, 0
      FROM pg_catalog.pg_rewrite r
     WHERE r.ev_class IN (SELECT oid FROM rels) AND r.rulename <> '_RETURN'
    UNION ALL
    SELECT c.oid, 'row-level security', c.relname::text, NULL, 0
      FROM pg_catalog.pg_class c
     WHERE c.oid IN (SELECT oid FROM rels) AND (c.relrowsecurity OR c.relforcerowsecurity)
    UNION ALL
    SELECT pol.polrelid, 'policy', pol.polname::text, NULL, 0
      FROM pg_catalog.pg_policy pol WHERE pol.polrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT con.conrelid, 'constraint', con.conname::text, u.owner, 0
      FROM pg_catalog.pg_constraint con
      JOIN uses u ON u.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND u.objid = con.oid
     WHERE con.conrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT ad.adrelid, 'default', a.attname::text, u.owner, CASE WHEN a.attgenerated = 's' THEN 1 ELSE 0 END
      FROM pg_catalog.pg_attrdef ad
      JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
      JOIN uses u ON u.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND u.objid = ad.oid
     WHERE ad.adrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT ix.indrelid, 'index', ic.relname::text, u.owner, 0
      FROM pg_catalog.pg_index ix
      JOIN pg_catalog.pg_class ic ON ic.oid = ix.indexrelid
      JOIN uses u ON u.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND u.objid = ix.indexrelid
     WHERE ix.indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT a.attrelid, 'column type', a.attname::text, t.typowner::pg_catalog.regrole::text, 0
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
     WHERE a.attrelid IN (SELECT oid FROM rels) AND a.attnum > 0 AND NOT a.attisdropped
       AND (t.typowner NOT IN (SELECT oid FROM trusted) OR e.typowner NOT IN (SELECT oid FROM trusted))
  )
SELECT n.nspname::text AS schema, c.relname::text AS table_name, f.kind, f.name, f.owner, f.generated
  FROM found f
  JOIN pg_catalog.pg_class c ON c.oid = f.rel
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 ORDER BY 1, 2, 3, 4`;

/** Read the foreign objects on the tables carve uses in this service database. */
export async function findForeignObjects(
  client: Client,
  service: ServiceRoute,
  stateSchema: string,
): Promise<ForeignObject[]> {
  const tables = service.tables.map((r) => r.target);
  const { rows } = await client.query<{
    schema: string;
    table_name: string;
    kind: ForeignObject['kind'];
    name: string;
    owner: string | null;
    generated: number;
  }>(GUARD_SQL, [tables.map((t) => t.schema), tables.map((t) => t.name), stateSchema]);
  return rows.map((r) => {
    let fix = fixFor(r.schema, r.table_name, r.kind, r.name, r.generated === 1);
    const column = service.tables
      .find((t) => t.target.schema === r.schema && t.target.name === r.table_name)
      ?.columns.find((c) => c.target === r.name);
    if (r.kind === 'column type' && column) {
      // A routed column goes back to the type carve provisioned.
      const t = quoteQualified(r.schema, r.table_name);
      const n = quoteIdent(r.name);
      fix = `ALTER TABLE ${t} ALTER COLUMN ${n} TYPE ${column.type} USING ${n}::text::${column.type}`;
    }
    return { table: `${r.schema}.${r.table_name}`, kind: r.kind, name: r.name, owner: r.owner, fix };
  });
}

/**
 * Refuse to go on when findForeignObjects finds anything: a coded error naming every object, with
 * the statements that remove them. Nothing has been written by carve's session at this point.
 */
export async function assertNoForeignObjects(
  client: Client,
  service: ServiceRoute,
  stateSchema: string,
  command: 'copy' | 'sync' | 'verify',
): Promise<void> {
  const objects = await findForeignObjects(client, service, stateSchema);
  if (objects.length === 0) return;
  const list = objects.map(
    (o) => `${o.table}: ${o.kind} ${o.name}${o.owner ? ` (code owned by ${o.owner})` : ''}`,
  );
  throw new CarveError(
    'TARGET_FOREIGN_OBJECT',
    `carve ${command} will not touch ${service.database}: ${objects.length} object(s) there would run code ` +
      `carve did not create with carve's rights (docs/security.md):\n  ${list.join('\n  ')}`,
    {
      details: { database: service.database, role: service.carveRole, objects },
      hint:
        `Remove them in ${service.database} (as ${service.role} or the admin), then run carve ${command} again; ` +
        `create them after cutover:\n  ${objects.map((o) => `${o.fix};`).join('\n  ')}` +
        (objects.some(
          (o) => o.kind === 'view' || o.kind === 'materialized view' || o.kind === 'foreign table',
        )
          ? '\n  then run carve provision again to recreate the missing table(s).'
          : ''),
    },
  );
}

function fixFor(
  schema: string,
  table: string,
  kind: ForeignObject['kind'],
  name: string,
  generated: boolean,
): string {
  const t = quoteQualified(schema, table);
  const n = quoteIdent(name);
  switch (kind) {
    case 'trigger':
      return `DROP TRIGGER ${n} ON ${t}`;
    case 'rule':
      return `DROP RULE ${n} ON ${t}`;
    case 'policy':
      return `DROP POLICY ${n} ON ${t}`;
    case 'row-level security':
      return `ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY`;
    case 'constraint':
      return `ALTER TABLE ${t} DROP CONSTRAINT ${n}`;
    case 'default':
      return `ALTER TABLE ${t} ALTER COLUMN ${n} ${generated ? 'DROP EXPRESSION' : 'DROP DEFAULT'}`;
    case 'index':
      return `DROP INDEX ${quoteQualified(schema, name)}`;
    case 'column type':
      return `ALTER TABLE ${t} DROP COLUMN ${n}`;
    case 'view':
      return `DROP VIEW ${t}`;
    case 'materialized view':
      return `DROP MATERIALIZED VIEW ${t}`;
    case 'foreign table':
      return `DROP FOREIGN TABLE ${t}`;
    default:
      return `DROP TABLE ${t}`;
  }
}
