import { sameTable, type TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import type { Lsn } from '../pg/lsn.js';
import type { PgTimestamp } from '../pg/replication/pg-time.js';
import type { ReplicationMessage } from '../pg/replication/protocol.js';
import { routesForSource, type Routing, type TableRoute } from '../routing/model.js';
import { decodePgoutput, RelationCache } from './pgoutput/index.js';
import type { RelationMessage, TruncateMessage } from './pgoutput/messages.js';
import { routeChange, type RoutedChange } from './route-change.js';
import {
  keyOf,
  partitionRootOf,
  planRelation,
  renderPartitionChain,
  type AddedColumn,
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
          const plan = this.relations.get(decoded.relationId);
          if (!plan) this.cache.require(decoded.relationId); // throws PGOUTPUT_UNKNOWN_RELATION
          this.routed.length = 0;
          routeChange(plan!, decoded, this.routed);
          for (const change of this.routed) {
            if (this.skipped(change.plan)) continue;
            const sinks = this.sinksByPlan.get(change.plan) ?? this.sinksFor(change.plan);
            for (const sink of sinks) this.hand(sink, change);
          }
          this.changesReceived++;
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

  /** The open transaction came from an origin whose changes must not reach this route. */
  private skipped(plan: RoutePlan): boolean {
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
    if (diff && !diff.identical && !partitionOf) {
      // Drops, additions and type changes are judged against the routing by planRelation; only a
      // rename, or a type modifier change (varchar(10) → varchar(20)) of a routed column, shows
      // nowhere else.
      const routed = new Set(
        routesForSource(this.routing, { schema: relation.schema, name: relation.name }).flatMap((r) =>
          r.columns.map((c) => c.source),
        ),
      );
      const retyped = diff.retypedColumns.find((c) => routed.has(c.name));
      if (diff.renamed || retyped) {
        const source = diff.renamed ? `${diff.renamed.from.schema}.${diff.renamed.from.name}` : table;
        const change = diff.renamed ? 'table-renamed' : 'type-changed';
        throw new CarveError(
          'SYNC_SCHEMA_CHANGED',
          `${source}${retyped ? `, column ${retyped.name},` : ''} changed on the monolith (${change}); streaming stopped`,
          {
            details: { table: source, column: retyped?.name ?? null, change },
            hint: 'Undo the change on the monolith, or re-plan and re-copy the table; carve sync resumes where it stopped.',
          },
        );
      }
    }
    let result = planRelation(relation, this.routing, this.extraColumns, partitionOf);
    if (result.kind === 'add-columns') {
      for (const column of result.columns) await this.addColumn(column);
      result = planRelation(relation, this.routing, this.extraColumns, partitionOf);
      if (result.kind !== 'plan') throw new Error(`columns of ${table} could not be added`);
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

  private async addColumn(column: AddedColumn): Promise<void> {
    const type = await this.hooks.resolveType(column.typeOid, column.typeMod);
    const owner = planRelationOwner(this.routing, column);
    // Idempotent (ADD COLUMN IF NOT EXISTS), so it is handed over even where this transaction is skipped.
    for (const target of this.targets) {
      if (target.accepts(owner))
        target.queue.push({ kind: 'add-column', table: owner.target, column: column.column, type });
    }
    const key = keyOf(column.table);
    let extras = this.extraColumns.get(key);
    if (!extras) this.extraColumns.set(key, (extras = new Map()));
    extras.set(column.column, type);
  }

  private onTruncate(message: TruncateMessage): void {
    const byTarget = new Map<DispatchTarget, ApplyItem & { kind: 'truncate' }>();
    for (const relationId of message.relationIds) {
      const plan = this.relations.get(relationId);
      if (!plan) {
        this.cache.require(relationId);
        continue;
      }
      for (const route of plan.routes) {
        if (this.skipped(route)) continue;
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

function planRelationOwner(routing: Routing, column: Pick<AddedColumn, 'table'>) {
  const owner = routing.routes.find(
    (r) =>
      r.kind === 'owned' && r.source.schema === column.table.schema && r.source.name === column.table.name,
  );
  if (!owner) throw new Error(`no owner route for ${column.table.schema}.${column.table.name}`);
  return owner;
}
