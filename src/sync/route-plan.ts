import { sameTable, type TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { quoteQualified } from '../pg/quote.js';
import { routesForSource, type Routing, type TableRoute } from '../routing/model.js';
import type { RelationMessage } from './pgoutput/messages.js';

/**
 * How the columns of one decoded relation land in one route's target table. Pure: built from a
 * Relation message and the routing, so it is rebuilt whenever pgoutput sends the relation again.
 */
export interface RouteColumn {
  /** Column name in the target table. */
  target: string;
  /** Column name in the monolith (for re-reads). */
  source: string;
  /** format_type of the column: values travel as text and are cast to this in the target. */
  type: string;
  /** Position of the column in the relation's tuples. */
  index: number;
}

export interface RoutePlan {
  route: TableRoute;
  database: string;
  /** Written columns (generated ones excluded), in target column order. */
  columns: RouteColumn[];
  /** Positions in `columns` of the key columns, in route.key order. */
  key: number[];
  /** Projections skip updates that touch none of their columns (when the old row is known). */
  projection: boolean;
  /** columns are exactly the relation's, in its order: a tuple of text values is the row as is. */
  identity: boolean;
}

export interface RelationPlan {
  relationId: number;
  source: TableRef;
  replicaIdentity: RelationMessage['replicaIdentity'];
  /** The owner first, then projections; empty never (an unrouted relation is an error). */
  routes: RoutePlan[];
  /** Tuple positions of the source table's key (the owner's key), for updates and deletes. */
  sourceKey: number[];
}

/** A column on the monolith that the routing does not know, which the plan lets sync add. */
export interface AddedColumn {
  table: TableRef;
  column: string;
  typeOid: number;
  typeMod: number;
}

export type SchemaPolicy = 'stop' | 'add_nullable_columns';

export type RelationPlanResult =
  | { kind: 'plan'; plan: RelationPlan }
  /** New columns to add to the owner's table first (policy add_nullable_columns); then call again with their types. */
  | { kind: 'add-columns'; columns: AddedColumn[] };

/**
 * Match a Relation message against the routing.
 *
 * Stops (CarveError SYNC_SCHEMA_CHANGED, naming table and column) when a routed column is gone or
 * changed type, or when a new column appeared and the plan says `stop`. A table the routing does
 * not know is SYNC_UNROUTED_TABLE (someone added it to carve's publication).
 *
 * `extraColumns` are columns added by sync earlier in this run (source name → type), routed to the
 * owner only.
 */
export function planRelation(
  relation: RelationMessage,
  routing: Routing,
  extraColumns: ReadonlyMap<string, ReadonlyMap<string, string>>,
  /** For a partition: the routed partitioned table it belongs to (see partitionRootOf). */
  partitionOf?: TableRef,
): RelationPlanResult {
  const source = partitionOf ?? relationTable(relation);
  const routes = routesForSource(routing, source);
  const table = `${source.schema}.${source.name}`;
  if (routes.length === 0) {
    throw new CarveError(
      'SYNC_UNROUTED_TABLE',
      `Changes of ${table} arrived, but the plan does not route that table`,
      {
        details: { table },
        hint: `Remove ${table} from publication ${routing.names.publication}, or add it to the plan and copy it.`,
      },
    );
  }
  const owner = routes.find((r) => r.kind === 'owned') ?? routes[0]!;
  const catalog = new Map(owner.sourceTable.columns.map((c) => [c.name, c]));
  const position = new Map(relation.columns.map((c, i) => [c.name, i]));
  const policy: SchemaPolicy = routing.schemaChanges ?? 'stop';
  const extras = extraColumns.get(keyOf(source)) ?? new Map<string, string>();

  const added: AddedColumn[] = [];
  for (const column of relation.columns) {
    const known = catalog.get(column.name);
    if (known) {
      if (known.typeOid !== column.typeOid) {
        throw schemaChanged(table, column.name, 'type-changed', 'its type changed on the monolith', {
          fromTypeOid: known.typeOid,
          toTypeOid: column.typeOid,
        });
      }
      continue;
    }
    if (extras.has(column.name)) continue;
    if (policy === 'stop') {
      throw schemaChanged(
        table,
        column.name,
        'column-added',
        'it was added on the monolith after the plan was resolved',
        {
          policy,
        },
      );
    }
    added.push({ table: source, column: column.name, typeOid: column.typeOid, typeMod: column.typeMod });
  }
  if (added.length > 0) return { kind: 'add-columns', columns: added };

  const plans: RoutePlan[] = [];
  for (const route of routes) {
    const columns: RouteColumn[] = [];
    for (const column of route.columns) {
      if (column.generated) continue;
      const index = position.get(column.source);
      if (index === undefined) {
        const nullable = catalog.get(column.source)?.notNull === false;
        // A column added to the target by an earlier run of sync is absent from relations
        // decoded before it existed: nothing to write then.
        if (policy === 'add_nullable_columns' && nullable && !route.key.includes(column.source)) continue;
        throw schemaChanged(
          table,
          column.source,
          'column-dropped',
          'it is no longer sent by the monolith (dropped or renamed)',
          {
            route: route.id,
          },
        );
      }
      columns.push({ target: column.target, source: column.source, type: column.type, index });
    }
    if (route.kind === 'owned') {
      for (const [name, type] of extras) {
        const index = position.get(name);
        if (index !== undefined) columns.push({ target: name, source: name, type, index });
      }
    }
    const key = route.key.map((name) => {
      const at = columns.findIndex((c) => c.source === name);
      if (at === -1) {
        throw schemaChanged(
          table,
          name,
          'key-missing',
          `key column ${name} is not part of route ${route.id}`,
          {
            route: route.id,
          },
        );
      }
      return at;
    });
    const identity = columns.length === relation.columns.length && columns.every((c, i) => c.index === i);
    plans.push({
      route,
      database: route.database,
      columns,
      key,
      projection: route.kind === 'projection',
      identity,
    });
  }
  const ownerPlan = plans.find((p) => p.route === owner)!;
  return {
    kind: 'plan',
    plan: {
      relationId: relation.relationId,
      source,
      replicaIdentity: relation.replicaIdentity,
      routes: plans,
      sourceKey: ownerPlan.key.map((k) => ownerPlan.columns[k]!.index),
    },
  };
}

function relationTable(relation: RelationMessage): TableRef {
  return { schema: relation.schema === '' ? 'pg_catalog' : relation.schema, name: relation.name };
}

/**
 * The routed partitioned table that `relation` is a partition of, else undefined.
 *
 * The publication publishes partitions as their root (publish_via_partition_root), so their
 * changes arrive under the root's relation id; but before a partition's first change pgoutput sends
 * the root's Relation message and then the partition's own (PostgreSQL 13 to 17,
 * maybe_send_schema), with at most Type messages in between. A partition is recognised from the
 * catalog the routing was built from, or, when it was created or attached since, by coming right
 * after the Relation message of a routed partitioned table (`previous`).
 */
export function partitionRootOf(
  relation: RelationMessage,
  routing: Routing,
  previous: TableRef | undefined,
): TableRef | undefined {
  const self = relationTable(relation);
  if (routesForSource(routing, self).length > 0) return undefined;
  for (const route of routing.routes) {
    if (route.kind !== 'owned') continue;
    if ((route.partitionTree ?? []).some((p) => sameTable(p.table, self))) return route.source;
    if (route.sourcePartitions.some((p) => sameTable(p, self))) return route.source;
  }
  if (previous === undefined) return undefined;
  const root = routesForSource(routing, previous).find((r) => r.kind === 'owned');
  return root?.sourceTable.partitionKey !== undefined ? root.source : undefined;
}

/** One level of a partition's ancestry on the monolith, as read when the stream meets it. */
export interface PartitionLevel {
  table: TableRef;
  parent: TableRef;
  /** pg_get_expr(relpartbound): `FOR VALUES …` or `DEFAULT`. */
  bound: string;
  /** pg_get_partkeydef for a sub-partitioned level, else null. */
  partitionKey: string | null;
}

/** A partition to create in a target (when missing), under `parent` there. */
export interface NewPartition {
  table: TableRef;
  parent: TableRef;
  statement: string;
}

/**
 * CREATE TABLE … PARTITION OF for a partition and those of its ancestors below the routed table,
 * parents first, under their source names (as provision creates partitions); the routed table
 * itself is the route's target. Pure; the applier runs a statement only for a missing table.
 */
export function renderPartitionChain(route: TableRoute, chain: readonly PartitionLevel[]): NewPartition[] {
  return chain.map((level) => {
    const parent = sameTable(level.parent, route.source) ? route.target : level.parent;
    const by = level.partitionKey ? ` PARTITION BY ${level.partitionKey}` : '';
    return {
      table: level.table,
      parent,
      statement: `CREATE TABLE ${quoteQualified(level.table.schema, level.table.name)} PARTITION OF ${quoteQualified(parent.schema, parent.name)} ${level.bound}${by}`,
    };
  });
}

export function keyOf(table: TableRef): string {
  return JSON.stringify([table.schema, table.name]);
}

function schemaChanged(
  table: string,
  column: string,
  change: string,
  why: string,
  details: Record<string, unknown>,
): CarveError {
  return new CarveError('SYNC_SCHEMA_CHANGED', `Column ${column} of ${table} cannot be streamed: ${why}`, {
    details: { table, column, change, ...details },
    hint:
      change === 'column-added'
        ? 'Add the column to the service table (or set schema_changes: add_nullable_columns in the plan), then run carve sync again.'
        : 'Undo the change on the monolith, or re-plan and re-copy the table; carve sync resumes where it stopped.',
  });
}
