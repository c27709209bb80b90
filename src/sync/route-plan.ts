import { sameTable, type TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { quoteQualified } from '../pg/quote.js';
import { routesForSource, type Routing, type TableRoute } from '../routing/model.js';
import type { RelationMessage } from './pgoutput/messages.js';
import { isWidening } from './type-widening.js';

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
  /** format_type on the monolith (known when the dispatcher passed RelationFacts). */
  type?: string;
  /**
   * What rows that existed before the column was added hold in it, as a SQL literal of `type`
   * (a constant default's stored value, pg_attribute.attmissingval), else null: the target gets it
   * as the column's default, so inserts replayed from before the change get the same value.
   */
  defaultLiteral?: string | null;
}

/** A routed column whose type the monolith widened (see type-widening.ts): altered in the targets first. */
export interface ColumnAlter {
  route: TableRoute;
  /** Column name in the target. */
  column: string;
  type: string;
}

/** A column of the table as the monolith has it now (read when a Relation message differs from the plan). */
export interface MonolithColumn {
  name: string;
  attnum: number;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  /** The stored value of a constant default given at ADD COLUMN (attmissingval), as a SQL literal. */
  missingLiteral: string | null;
  generated: boolean;
  identity: boolean;
}

/** What the dispatcher learned on the monolith about one Relation message. */
export interface RelationFacts {
  /** format_type of each column of the relation, in its order. */
  types: string[];
  /** The table's columns on the monolith now, by name; only when planRelation asked (need-current). */
  current?: ReadonlyMap<string, MonolithColumn>;
}

/**
 * `apply_compatible` (default) applies compatible changes by itself (docs/sync.md); `stop`
 * stops on every change (`add_nullable_columns` in a plan is read as apply_compatible).
 */
export type SchemaPolicy = 'apply_compatible' | 'stop';

export type RelationPlanResult =
  | { kind: 'plan'; plan: RelationPlan; alters: ColumnAlter[] }
  /** New columns to add to the target tables first; then call again with them in extraColumns. */
  | { kind: 'add-columns'; columns: AddedColumn[] }
  /** Read the table's columns on the monolith now and call again with RelationFacts.current. */
  | { kind: 'need-current' };

/**
 * Match a Relation message against the routing.
 *
 * With RelationFacts (the stream dispatcher), compatible changes are planned, not refused: a
 * column added on the monolith with no default or a constant one (add-columns, for every route
 * that takes all columns), a widened type (alters), and a routed column that an older Relation —
 * one from before the column was added, replayed after a restart — does not carry yet (nothing is
 * written to it). Everything else stops with CarveError SYNC_SCHEMA_CHANGED naming table and
 * column, whose hint is `carve resync`. With policy `stop`, every change stops. A table the
 * routing does not know is SYNC_UNROUTED_TABLE (someone added it to carve's publication).
 *
 * `extraColumns` are columns added by sync earlier in this run (source name → type).
 */
export function planRelation(
  relation: RelationMessage,
  routing: Routing,
  extraColumns: ReadonlyMap<string, ReadonlyMap<string, string>>,
  /** For a partition: the routed partitioned table it belongs to (see partitionRootOf). */
  partitionOf?: TableRef,
  facts?: RelationFacts,
): RelationPlanResult {
  let source = partitionOf ?? relationTable(relation);
  let routes = routesForSource(routing, source);
  if (routes.length === 0 && !partitionOf) {
    // A table renamed on the monolith since (or renamed back): the same table by its oid.
    const byOid = routing.routes.find((r) => r.kind === 'owned' && r.sourceTable.oid === relation.relationId);
    if (byOid) {
      source = byOid.source;
      routes = routesForSource(routing, source);
    }
  }
  const table = `${source.schema}.${source.name}`;
  if (routes.length === 0) {
    throw new CarveError(
      'SYNC_UNROUTED_TABLE',
      `Changes of ${table} arrived, but the plan does not route that table`,
      {
        details: { table },
        hint: `To leave it on the monolith: add ${table} to the plan's exclude: list and run carve sync again (its changes are then passed over). To move it: place it in a service's tables: in the plan and run carve provision; then run carve resync --plan ${planFileOf(routing)} --table ${table} and carve sync again.`,
      },
    );
  }
  const owner = routes.find((r) => r.kind === 'owned') ?? routes[0]!;
  const catalog = new Map(owner.sourceTable.columns.map((c) => [c.name, c]));
  const position = new Map(relation.columns.map((c, i) => [c.name, i]));
  const policy: SchemaPolicy = routing.schemaChanges === 'stop' ? 'stop' : 'apply_compatible';
  const extras = extraColumns.get(keyOf(source)) ?? new Map<string, string>();
  const current = facts?.current;
  const resync = `carve resync --plan ${planFileOf(routing)} --table ${table}`;

  const added: AddedColumn[] = [];
  const alters: ColumnAlter[] = [];
  /** Source column → the type values of this relation are cast to. */
  const streamType = new Map<string, string>();
  for (const [i, column] of relation.columns.entries()) {
    const known = catalog.get(column.name);
    const knownType = known?.type ?? extras.get(column.name);
    if (knownType !== undefined) {
      const type = facts?.types[i];
      if (type === undefined) {
        if (known && known.typeOid !== column.typeOid) {
          throw schemaChanged(
            table,
            column.name,
            'type-changed',
            'its type changed on the monolith',
            resync,
            {
              fromTypeOid: known.typeOid,
              toTypeOid: column.typeOid,
            },
          );
        }
        continue;
      }
      streamType.set(column.name, type);
      if (type === knownType) continue;
      if (isWidening(type, knownType)) {
        // Narrower than the routing knows: a relation from before a widening (replayed after a
        // restart; its values fit), unless the monolith has narrowed the column since.
        if (!current) return { kind: 'need-current' };
        if (current.get(column.name)?.type !== type) continue;
      } else if (policy === 'apply_compatible' && isWidening(knownType, type)) {
        for (const route of routes) {
          const routed = route.columns.find((c) => c.source === column.name && !c.generated);
          const extra = route.allColumns && !routed && extras.has(column.name);
          if (routed || extra) alters.push({ route, column: routed?.target ?? column.name, type });
        }
        continue;
      }
      throw schemaChanged(
        table,
        column.name,
        'type-changed',
        `its type changed on the monolith from ${knownType} to ${type}${policy === 'stop' ? ' (schema_changes: stop)' : ', which is not a widening carve applies by itself'}`,
        resync,
        { fromType: knownType, toType: type, policy },
      );
    }
    if (!routes.some((r) => r.allColumns)) continue; // no route takes columns beyond its list
    if (policy === 'stop') {
      throw schemaChanged(
        table,
        column.name,
        'column-added',
        'it was added on the monolith after the plan was resolved (schema_changes: stop)',
        `Set schema_changes: apply_compatible in the plan and run carve sync again, or run ${resync}.`,
        { policy },
      );
    }
    if (!facts) {
      added.push({ table: source, column: column.name, typeOid: column.typeOid, typeMod: column.typeMod });
      continue;
    }
    if (!current) return { kind: 'need-current' };
    const now = current.get(column.name);
    if (now && !now.generated && !now.identity && (!now.hasDefault || now.missingLiteral !== null)) {
      added.push({
        table: source,
        column: column.name,
        typeOid: column.typeOid,
        typeMod: column.typeMod,
        type: facts.types[i]!,
        defaultLiteral: now.missingLiteral,
      });
      continue;
    }
    throw schemaChanged(
      table,
      column.name,
      'column-added',
      now
        ? 'it was added with a volatile default, as generated or identity column: the rows it filled are not in the stream'
        : 'it was added on the monolith and is gone again',
      resync,
      { policy },
    );
  }
  if (added.length > 0) return { kind: 'add-columns', columns: added };

  const plans: RoutePlan[] = [];
  for (const route of routes) {
    const columns: RouteColumn[] = [];
    for (const column of route.columns) {
      if (column.generated) continue;
      const index = position.get(column.source);
      if (index === undefined) {
        if (!route.key.includes(column.source) && policy === 'apply_compatible') {
          if (facts && !current) return { kind: 'need-current' };
          // A relation from before the column was added (replayed after a restart): it still
          // exists on the monolith, after every column this relation has, and the rows of this
          // relation's time get what the target gives them (NULL or the default's stored value).
          if (current && addedAfter(current, column.source, relation)) continue;
          // Without facts (carve apply): the older behaviour for a nullable column.
          if (!facts && catalog.get(column.source)?.notNull === false) continue;
        }
        throw schemaChanged(
          table,
          column.source,
          'column-dropped',
          'it is no longer sent by the monolith (dropped or renamed)',
          resync,
          { route: route.id },
        );
      }
      columns.push({
        target: column.target,
        source: column.source,
        type: streamType.get(column.source) ?? column.type,
        index,
      });
    }
    if (route.allColumns) {
      for (const [name, type] of extras) {
        const index = position.get(name);
        if (index !== undefined && !columns.some((c) => c.source === name))
          columns.push({ target: name, source: name, type: streamType.get(name) ?? type, index });
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
          resync,
          { route: route.id },
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
    alters,
    plan: {
      relationId: relation.relationId,
      source,
      replicaIdentity: relation.replicaIdentity,
      routes: plans,
      sourceKey: ownerPlan.key.map((k) => ownerPlan.columns[k]!.index),
    },
  };
}

/**
 * The column exists on the monolith now, was added after every column `relation` carries, and
 * rows from before it hold NULL or a constant default there: `relation` predates it.
 */
function addedAfter(
  current: ReadonlyMap<string, MonolithColumn>,
  name: string,
  relation: RelationMessage,
): boolean {
  const column = current.get(name);
  if (!column || column.generated || column.identity) return false;
  if (column.hasDefault && column.missingLiteral === null) return false;
  return relation.columns.every((c) => (current.get(c.name)?.attnum ?? 0) < column.attnum);
}

/** The plan file for hints: the file the routing was built from, when known. */
export function planFileOf(routing: Routing): string {
  return routing.planFile ?? '<plan.yaml>';
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
  hint: string,
  details: Record<string, unknown>,
): CarveError {
  return new CarveError('SYNC_SCHEMA_CHANGED', `Column ${column} of ${table} cannot be streamed: ${why}`, {
    details: { table, column, change, ...details },
    // A re-copy of the table at a new snapshot is the way out that always works; carve sync
    // skips the table's older changes once it is under way (docs/sync.md, Schema changes).
    hint: hint.startsWith('carve resync')
      ? `Run ${hint} (re-copies this table while sync streams the others), then carve sync again if it is not running.`
      : hint,
  });
}
