import { sameTable, type TableRef } from '../catalog/model.js';
import { CarveError, isCarveError } from '../errors.js';
import type { Lsn } from '../pg/lsn.js';
import type { PgTimestamp } from '../pg/replication/pg-time.js';
import { XLogFrame, type ReplicationMessage } from '../pg/replication/protocol.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { routesForSource, type Routing, type TableRoute } from '../routing/model.js';
import { decodePgoutput, RelationCache } from './pgoutput/index.js';
import type { RelationMessage, TruncateMessage } from './pgoutput/messages.js';
import { scanRowChange } from './pgoutput/raw-change.js';
import { routeChange, routeRawChange, type RoutedChange } from './route-change.js';
import {
  keyOf,
  partitionRootOf,
  planRelation,
  renderPartitionChain,
  type AddedColumn,
  type MonolithColumn,
  type RelationFacts,
  type PartitionLevel,
  type RelationPlan,
  type RoutePlan,
} from './route-plan.js';
import type { ApplyItem, TransactionOrigin } from './apply-queue.js';
import type { Sink } from './sink.js';

/** The part of a sink the dispatcher feeds. */
export type DispatchTarget = Pick<Sink, 'name' | 'skipBelow' | 'unapplied' | 'accepts'> & {
  readonly queue: { push(item: ApplyItem): void; readonly full: boolean; waitForSpace(): Promise<void> };
};

export interface DispatchHooks {
  /** format_type(oid, typmod) on the monolith, for a column sync adds. */
  resolveType(typeOid: number, typeMod: number): Promise<string>;
  /**
   * The partition's ancestry on the monolith below its root, parents first (empty when the
   * relation is no partition any more), so a partition the target lacks can be created there.
   */
  partitionChain(relationId: number): Promise<PartitionLevel[]>;
  /**
   * Loop prevention: a transaction written under `origin` is not handed over for `route` (its
   * begin/commit are not either; a sink that gets nothing of it advances past it as usual). The
   * forward stream skips, for the routes of service database D, what carve's reverse stream
   * applied into the monolith from D — and still hands it to every route elsewhere (projections).
   */
  skipOrigin?(origin: TransactionOrigin, route: TableRoute): boolean;
  /**
   * The lowest snapshot position of a carve resync over every route of the table, or null when
   * some route has none (sync then stops on a change it cannot plan).
   */
  resyncFloor(table: TableRef): Promise<Lsn | null>;
  /** The schema and name of a table (by oid) on the monolith now; null when it is gone. */
  relationName(relationId: number): Promise<TableRef | null>;
  /** The table's columns on the monolith now (planRelation's RelationFacts.current). */
  tableColumns(table: TableRef): Promise<Map<string, MonolithColumn>>;
}

/**
 * Decodes the stream and hands each sink its share, in commit order: begin/changes/commit for
 * the transactions that touch it (and are not already delivered there), `advance` for the rest.
 * A routed change goes to every sink that accepts its route (the applier of the route's database,
 * a publisher of every route …); the same object is handed to each, read-only. Changes are handed
 * over as they arrive (pgoutput protocol 1 sends a transaction only once it has committed), so a
 * huge transaction never has to fit in memory.
 */
export class StreamDispatcher {
  private readonly relations = new Map<number, RelationPlan>();
  private readonly cache = new RelationCache();
  /** Sinks accepting each route plan (asked once per plan). */
  private readonly sinksByPlan = new Map<RoutePlan, DispatchTarget[]>();
  private txn: {
    xid: number;
    commitLsn: Lsn;
    commitTime: PgTimestamp;
    origin: TransactionOrigin | null;
    touched: Set<DispatchTarget>;
  } | null = null;
  private readonly routed: RoutedChange[] = [];
  /** The routed table of the Relation message just before (Type messages aside), for partitionRootOf. */
  private previousRelation: TableRef | undefined;
  /** Partitions whose presence in the target was ensured in this session. */
  private readonly ensuredPartitions = new Set<number>();
  /** End of the last commit handed over. */
  lastCommitEnd: Lsn = 0n;
  changesReceived = 0;

  constructor(
    private readonly routing: Routing,
    private readonly targets: DispatchTarget[],
    /** Columns added by sync in this run, per source table: survive reconnects. */
    private readonly extraColumns: Map<string, Map<string, string>>,
    private readonly hooks: DispatchHooks,
  ) {}

  get inTransaction(): boolean {
    return this.txn !== null;
  }

  async dispatch(messages: readonly ReplicationMessage[]): Promise<void> {
    for (const message of messages) {
      if (message.kind === 'keepalive') {
        // Between transactions, everything committed before walEnd has been sent.
        if (!this.txn)
          for (const target of this.targets) target.queue.push({ kind: 'advance', upTo: message.walEnd });
        continue;
      }
      // Nearly every message: a row change whose values need not be decoded (raw-change.ts).
      // A frame read in place is scanned in its socket chunk, without a view of its own.
      const raw =
        message instanceof XLogFrame
          ? scanRowChange(message.buf, message.payloadStart, message.end)
          : scanRowChange(message.payload);
      if (raw) {
        this.previousRelation = undefined;
        if (this.skips(raw.relationId)) continue;
        const plan = this.relations.get(raw.relationId);
        if (plan) {
          this.routed.length = 0;
          if (routeRawChange(plan, raw, this.routed)) {
            this.handRouted();
            continue;
          }
        }
      }
      const decoded = decodePgoutput(message.payload);
      if (decoded.tag !== 'relation' && decoded.tag !== 'type') this.previousRelation = undefined;
      switch (decoded.tag) {
        case 'begin':
          this.txn = {
            xid: decoded.xid,
            commitLsn: decoded.finalLsn,
            commitTime: decoded.commitTime,
            origin: null,
            touched: new Set(),
          };
          break;
        case 'origin':
          // Right after Begin, before any change: every sink's begin item carries it.
          if (this.txn) this.txn.origin = { name: decoded.name, lsn: decoded.originLsn };
          break;
        case 'commit':
          for (const target of this.targets) {
            if (this.txn?.touched.has(target)) {
              target.queue.push({
                kind: 'commit',
                commitLsn: decoded.commitLsn,
                endLsn: decoded.endLsn,
                commitTime: decoded.commitTime,
              });
            } else if (decoded.commitLsn >= target.skipBelow) {
              target.queue.push({ kind: 'advance', upTo: decoded.endLsn });
            }
          }
          this.lastCommitEnd = decoded.endLsn;
          this.txn = null;
          break;
        case 'relation':
          await this.onRelation(decoded);
          break;
        case 'insert':
        case 'update':
        case 'delete': {
          if (this.skips(decoded.relationId)) break;
          const plan = this.relations.get(decoded.relationId);
          if (!plan) this.cache.require(decoded.relationId); // throws PGOUTPUT_UNKNOWN_RELATION
          this.routed.length = 0;
          routeChange(plan!, decoded, this.routed);
          this.handRouted();
          break;
        }
        case 'truncate':
          this.onTruncate(decoded);
          break;
        case 'unsupported':
          throw new CarveError(
            'SYNC_UNSUPPORTED_MESSAGE',
            `The stream sent a pgoutput ${decoded.kind} message, which carve does not apply`,
            {
              details: { kind: decoded.kind, code: decoded.code },
              hint: 'carve streams with protocol version 1 (no in-progress streaming, no two-phase); check the slot was created by carve.',
            },
          );
        default:
          break; // type and logical messages carry nothing to apply
      }
    }
    for (const target of this.targets) if (target.queue.full) await target.queue.waitForSpace();
  }

  /** Hand the changes routed from one message to the sinks of their routes. */
  private handRouted(): void {
    for (const change of this.routed) {
      if (this.originSkips(change.plan)) continue;
      const sinks = this.sinksByPlan.get(change.plan) ?? this.sinksFor(change.plan);
      for (const sink of sinks) this.hand(sink, change);
    }
    this.changesReceived++;
  }

  /** The open transaction came from an origin whose changes must not reach this route. */
  private originSkips(plan: RoutePlan): boolean {
    const origin = this.txn?.origin;
    return (
      origin !== null &&
      origin !== undefined &&
      this.hooks.skipOrigin !== undefined &&
      this.hooks.skipOrigin(origin, plan.route)
    );
  }

  private sinksFor(plan: RoutePlan): DispatchTarget[] {
    const sinks = this.targets.filter((t) => t.accepts(plan.route));
    this.sinksByPlan.set(plan, sinks);
    return sinks;
  }

  private hand(target: DispatchTarget, item: ApplyItem): void {
    const txn = this.txn!;
    if (txn.commitLsn < target.skipBelow) return; // delivered there before this session
    if (!txn.touched.has(target)) {
      txn.touched.add(target);
      target.queue.push({
        kind: 'begin',
        xid: txn.xid,
        commitLsn: txn.commitLsn,
        commitTime: txn.commitTime,
        origin: txn.origin,
      });
      target.unapplied.push(txn.commitTime);
    }
    target.queue.push(item);
  }

  private async onRelation(relation: RelationMessage): Promise<void> {
    const diff = this.cache.set(relation);
    const table = `${relation.schema}.${relation.name}`;
    // A partition's Relation follows its root's; its changes arrive as the root's, whose Relation
    // message carries every schema change, so a renamed or retyped partition says nothing new.
    const partitionOf = partitionRootOf(relation, this.routing, this.previousRelation);
    this.previousRelation = partitionOf ? undefined : { schema: relation.schema, name: relation.name };
    if (partitionOf) await this.ensurePartition(relation, partitionOf);
    if (diff?.renamed && !partitionOf && !(await this.routedNameNow(relation.relationId))) {
      // Column changes are judged against the routing by planRelation; a renamed table shows only
      // here. Its changes are still recognised by the table's oid (planRelation), so renaming it
      // back, or naming the new name in the plan's `from:`, lets carve sync go on from here.
      const from = `${diff.renamed.from.schema}.${diff.renamed.from.name}`;
      throw new CarveError(
        'SYNC_SCHEMA_CHANGED',
        `${from} was renamed to ${table} on the monolith; streaming stopped`,
        {
          details: { table: from, column: null, change: 'table-renamed', newName: table },
          hint: `Rename it back on the monolith (ALTER TABLE ${quoteQualified(relation.schema, relation.name)} RENAME TO ${quoteIdent(diff.renamed.from.name)}), or set \`from: ${relation.name}\` for that table in the plan; then run carve sync again.`,
        },
      );
    }
    const source = partitionOf ?? { schema: relation.schema, name: relation.name };
    this.skipped.delete(relation.relationId);
    if (!partitionOf && this.routing.excluded.some((t) => sameTable(t, source))) {
      // Excluded by the plan but published (added to carve's publication by hand, or still in
      // the WAL from before it was dropped from it): its changes have no target.
      this.relations.delete(relation.relationId);
      this.skipped.set(relation.relationId, { below: MAX_LSN, error: null });
      return;
    }
    try {
      await this.planRelation(relation, partitionOf, source, table);
    } catch (error) {
      // A table carve resync re-copies at a later snapshot: its changes before that snapshot are
      // in the copy, so a shape sync cannot apply before it does not matter.
      if (!isCarveError(error, 'SYNC_SCHEMA_CHANGED') || !this.txn) throw error;
      const floor = await this.hooks.resyncFloor(source);
      if (floor === null || this.txn.commitLsn >= floor) throw error;
      this.relations.delete(relation.relationId);
      this.skipped.set(relation.relationId, { below: floor, error });
    }
  }

  /**
   * The table is routed under the name it has on the monolith now: a rename replayed after it was
   * renamed back (or after the plan's `from:` was set to the new name) is no reason to stop.
   */
  private async routedNameNow(relationId: number): Promise<boolean> {
    const now = await this.hooks.relationName(relationId);
    return now !== null && routesForSource(this.routing, now).length > 0;
  }

  /** Relations whose shape sync cannot apply, skipped for transactions before a resync's snapshot. */
  private readonly skipped = new Map<number, { below: Lsn; error: unknown }>();

  /** True when the change belongs to a skipped relation (throws once it is past the resync's snapshot). */
  private skips(relationId: number): boolean {
    const skipped = this.skipped.get(relationId);
    if (!skipped) return false;
    if (this.txn && this.txn.commitLsn < skipped.below) return true;
    throw skipped.error;
  }

  private async planRelation(
    relation: RelationMessage,
    partitionOf: TableRef | undefined,
    source: TableRef,
    table: string,
  ): Promise<void> {
    // One after the other: the lookups share sync's one control connection to the monolith.
    const types: string[] = [];
    for (const c of relation.columns) types.push(await this.typeOf(c.typeOid, c.typeMod));
    const facts: RelationFacts = { types };
    let result = planRelation(relation, this.routing, this.extraColumns, partitionOf, facts);
    if (result.kind === 'need-current') {
      facts.current = await this.hooks.tableColumns(source);
      result = planRelation(relation, this.routing, this.extraColumns, partitionOf, facts);
    }
    if (result.kind === 'add-columns') {
      for (const column of result.columns) this.addColumn(column);
      result = planRelation(relation, this.routing, this.extraColumns, partitionOf, facts);
    }
    if (result.kind !== 'plan') throw new Error(`columns of ${table} could not be planned`);
    // Once per column and session: columns added on the monolith since the targets were
    // provisioned are added where a run that stopped (or was killed) before its batch committed
    // did not (idempotent; a present column is left alone).
    // Likewise a type widened while sync was down: the catalog has it already, the target not.
    const unensured = result.plan.routes.some((p) =>
      p.columns.some((c) => !this.ensuredColumns.has(`${p.route.id}\0${c.source}\0${c.type}`)),
    );
    if (unensured) {
      facts.current ??= await this.hooks.tableColumns(source);
      this.ensureAddedColumns(result.plan, facts.current);
    }
    for (const alter of result.alters) {
      // Idempotent (the applier widens only a narrower column), so handed over even where this
      // transaction is skipped; ahead of the first change that needs the wider type.
      for (const target of this.targets) {
        if (target.accepts(alter.route))
          target.queue.push({
            kind: 'alter-column',
            table: alter.route.target,
            column: alter.column,
            type: alter.type,
          });
      }
      const extras = this.extraColumns.get(keyOf(source));
      if (extras?.has(alter.column)) extras.set(alter.column, alter.type);
    }
    this.relations.set(relation.relationId, result.plan);
  }

  /**
   * A partition created or attached on the monolith after provision is created in the owner's
   * database before the changes that need it (idempotent: only a missing table is created).
   */
  private async ensurePartition(relation: RelationMessage, root: TableRef): Promise<void> {
    if (this.ensuredPartitions.has(relation.relationId)) return;
    this.ensuredPartitions.add(relation.relationId);
    const owner = planRelationOwner(this.routing, { table: root });
    const chain = await this.hooks.partitionChain(relation.relationId);
    // Moved under another table since this transaction: nothing to create for this one.
    if (chain.length === 0 || !sameTable(chain[0]!.parent, root)) return;
    const partitions = renderPartitionChain(owner, chain);
    // Idempotent (only a missing table is created); sinks other than the owner's applier may ignore it.
    for (const target of this.targets) {
      if (target.accepts(owner)) target.queue.push({ kind: 'add-partitions', partitions });
    }
  }

  /** format_type on the monolith, asked once per type and modifier. */
  private async typeOf(typeOid: number, typeMod: number): Promise<string> {
    const key = `${typeOid}/${typeMod}`;
    let type = this.types.get(key);
    if (type === undefined) this.types.set(key, (type = await this.hooks.resolveType(typeOid, typeMod)));
    return type;
  }

  private readonly types = new Map<string, string>();

  private readonly ensuredColumns = new Set<string>();

  private ensureAddedColumns(plan: RelationPlan, current: ReadonlyMap<string, MonolithColumn>): void {
    for (const route of plan.routes) {
      for (const column of route.columns) {
        const key = `${route.route.id}\0${column.source}\0${column.type}`;
        if (this.ensuredColumns.has(key)) continue;
        this.ensuredColumns.add(key);
        for (const target of this.targets) {
          if (target.accepts(route.route))
            target.queue.push({
              kind: 'alter-column',
              table: route.route.target,
              column: column.target,
              type: column.type,
            });
        }
        if (!route.route.allColumns) continue;
        const now = current.get(column.source);
        if (!now || route.route.key.includes(column.source)) continue;
        if (now.generated || now.identity || (now.hasDefault && now.missingLiteral === null)) continue;
        for (const target of this.targets) {
          if (target.accepts(route.route))
            target.queue.push({
              kind: 'add-column',
              table: route.route.target,
              column: column.target,
              type: column.type,
              defaultLiteral: now.missingLiteral,
            });
        }
      }
    }
  }

  private addColumn(column: AddedColumn): void {
    const type = column.type!;
    // Every route that takes all columns: the owner, and projections that list none.
    const routes = routesForSource(this.routing, column.table).filter((r) => r.allColumns);
    // Idempotent (ADD COLUMN IF NOT EXISTS), so it is handed over even where this transaction is skipped.
    for (const route of routes) {
      for (const target of this.targets) {
        if (target.accepts(route))
          target.queue.push({
            kind: 'add-column',
            table: route.target,
            column: column.column,
            type,
            defaultLiteral: column.defaultLiteral ?? null,
          });
      }
    }
    const key = keyOf(column.table);
    let extras = this.extraColumns.get(key);
    if (!extras) this.extraColumns.set(key, (extras = new Map()));
    extras.set(column.column, type);
  }

  private onTruncate(message: TruncateMessage): void {
    const byTarget = new Map<DispatchTarget, ApplyItem & { kind: 'truncate' }>();
    for (const relationId of message.relationIds) {
      if (this.skips(relationId)) continue;
      const plan = this.relations.get(relationId);
      if (!plan) {
        this.cache.require(relationId);
        continue;
      }
      for (const route of plan.routes) {
        if (this.originSkips(route)) continue;
        for (const target of this.sinksByPlan.get(route) ?? this.sinksFor(route)) {
          let item = byTarget.get(target);
          if (!item) byTarget.set(target, (item = { kind: 'truncate', tables: [], plans: [] }));
          item.tables.push(route.route.target);
          item.plans.push(route);
        }
      }
    }
    for (const [target, item] of byTarget) this.hand(target, item);
  }
}

const MAX_LSN = 0xffffffffffffffffn;

function planRelationOwner(routing: Routing, column: Pick<AddedColumn, 'table'>) {
  const owner = routing.routes.find(
    (r) =>
      r.kind === 'owned' && r.source.schema === column.table.schema && r.source.name === column.table.name,
  );
  if (!owner) throw new Error(`no owner route for ${column.table.schema}.${column.table.name}`);
  return owner;
}
