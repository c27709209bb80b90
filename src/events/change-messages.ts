import { formatLsn, type Lsn } from '../pg/lsn.js';
import { pgTimestampToUnixMicros } from '../pg/replication/pg-time.js';
import type { EventRouting } from '../routing/model.js';
import type { RoutePlan } from '../sync/route-plan.js';
import type { SinkItem } from '../sync/sink.js';
import type { PublishedColumnType } from './column-types.js';
import { TableEnvelope, type ChangeEvent, type EventRow, type EventSource } from './envelope.js';

/** One message to publish (a change event, or a tombstone with value null). */
export interface OutgoingMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * carve's headers on every change event. Debezium consumers ignore them; `carve apply` reads only
 * them (never the Debezium values, whose conversions lose information: intervals as average-month
 * microseconds, numeric display scale), so rows arrive in the service databases exactly as the
 * in-process applier writes them.
 */
export const Header = {
  /** Commit LSN of the source transaction (`0/16B3748`). */
  lsn: 'carve.lsn',
  xid: 'carve.xid',
  /** Position of the change in its source transaction (from 1). */
  seq: 'carve.seq',
  /** Source commit time, microseconds since the Unix epoch. */
  commitTime: 'carve.ts',
  /** upsert | update | patch | delete | move | truncate (the routed change kind). */
  kind: 'carve.op',
  /** JSON array of the row's text values in published column order (null also for unsent TOAST values). */
  row: 'carve.row',
  /** JSON array of positions in `carve.row` that were not sent (unchanged TOAST values). */
  unchanged: 'carve.unchanged',
  /** JSON array of key values: the deleted key, or the old key of a move. */
  key: 'carve.key',
  /** JSON array of every `schema.table` truncated by the same statement. */
  truncate: 'carve.truncate',
  /** JSON array of the published column names, when they differ from the plan's (a column added by sync). */
  columns: 'carve.columns',
} as const;

interface TableState {
  envelope: TableEnvelope;
  topic: string;
  /** Published columns as the routing knows them (`carve.columns` is sent when the plan's differ). */
  columnsHeader: string | null;
}

/**
 * Turns the sink items of owner routes into Debezium change events (key, envelope value, carve
 * headers) in source order: c/u/d/t, a tombstone after each delete, a key change as delete +
 * tombstone + create (as Debezium publishes it).
 */
export class ChangeMessages {
  private readonly tables = new Map<RoutePlan, TableState>();
  private readonly topics: Map<string, EventRouting['tables'][number]>;
  private txn: {
    xid: number;
    commitLsn: Lsn;
    commitMicros: bigint;
    origin: { name: string; lsn: Lsn } | null;
    seq: number;
    perTable: Map<string, number>;
    /** The transaction's `source` block, one object for all its events (the envelope renders it once). */
    source: EventSource;
    transactionId: string;
    lsnText: string;
    xidText: string;
    commitMicrosText: string;
  } | null = null;
  /** Commit LSN of the previous source transaction published (Debezium's `sequence[0]`). */
  private lastCommit: Lsn | null = null;

  constructor(
    private readonly events: EventRouting,
    private readonly database: string,
    private readonly version: string,
    /** `schema.table` → column → type; must hold every published column. */
    private readonly types: Map<string, Map<string, PublishedColumnType>>,
    private readonly now: () => bigint = () => BigInt(Date.now()) * 1000n,
  ) {
    this.topics = new Map(events.tables.map((t) => [t.routeId, t]));
  }

  /** Whether the route's changes are published (its table's owner route, a published table). */
  publishes(routeId: string): boolean {
    return this.topics.has(routeId);
  }

  /** Columns whose type is unknown (added on the monolith since the types were read). */
  missingTypes(plan: RoutePlan): string[] {
    // Asked for every change: answered from the set of plans known complete once they are.
    if (this.complete.has(plan)) return [];
    const types = this.types.get(`${plan.route.source.schema}.${plan.route.source.name}`);
    const missing = plan.columns.filter((c) => !types?.has(c.source)).map((c) => c.source);
    if (missing.length === 0) this.complete.add(plan);
    return missing;
  }

  private readonly complete = new WeakSet<RoutePlan>();

  addTypes(types: Map<string, Map<string, PublishedColumnType>>): void {
    for (const [table, columns] of types) {
      const known = this.types.get(table) ?? new Map<string, PublishedColumnType>();
      for (const [column, type] of columns) known.set(column, type);
      this.types.set(table, known);
    }
    this.tables.clear();
  }

  /** Messages for one item; begin/commit/advance/add-column produce none. */
  messages(item: SinkItem, out: OutgoingMessage[]): void {
    switch (item.kind) {
      case 'begin': {
        const commitMicros = pgTimestampToUnixMicros(item.commitTime);
        this.txn = {
          xid: item.xid,
          commitLsn: item.commitLsn,
          commitMicros,
          origin: item.origin,
          seq: 0,
          perTable: new Map(),
          source: {
            commitMicros,
            snapshot: 'false',
            txId: item.xid,
            lsn: item.commitLsn,
            sequence: [this.lastCommit, item.commitLsn],
            origin: item.origin?.name ?? null,
            originLsn: item.origin?.lsn ?? null,
          },
          transactionId: `${item.xid}:${item.commitLsn}`,
          lsnText: formatLsn(item.commitLsn),
          xidText: String(item.xid),
          commitMicrosText: String(commitMicros),
        };
        return;
      }
      case 'commit':
        this.lastCommit = item.commitLsn;
        this.txn = null;
        return;
      case 'truncate': {
        const txn = this.txn!;
        txn.seq++;
        const all = JSON.stringify(item.tables.map((t) => `${t.schema}.${t.name}`));
        for (const plan of item.plans) {
          if (!this.topics.has(plan.route.id)) continue;
          const table = this.table(plan);
          out.push(
            this.event(table, plan, null, 't', null, null, {
              [Header.kind]: 'truncate',
              [Header.truncate]: all,
            }),
          );
        }
        return;
      }
      case 'upsert': {
        const table = this.table(item.plan);
        const key = this.keyOf(item.plan, item.values);
        this.txn!.seq++;
        out.push(
          this.event(
            table,
            item.plan,
            key,
            item.update ? 'u' : 'c',
            item.update ? (item.old ?? null) : null,
            item.values,
            {
              [Header.kind]: item.update ? 'update' : 'upsert',
              [Header.row]: JSON.stringify(item.values),
            },
          ),
        );
        return;
      }
      case 'patch': {
        const table = this.table(item.plan);
        const key = this.keyOf(item.plan, item.values as (string | null)[]);
        this.txn!.seq++;
        out.push(
          this.event(table, item.plan, key, 'u', item.old ?? null, item.values, {
            [Header.kind]: 'patch',
            [Header.row]: JSON.stringify(item.values.map((v) => v ?? null)),
            [Header.unchanged]: JSON.stringify(unsent(item.values)),
          }),
        );
        return;
      }
      case 'delete': {
        const table = this.table(item.plan);
        this.txn!.seq++;
        this.pushDelete(
          table,
          item.plan,
          item.keyValues,
          item.old,
          { [Header.kind]: 'delete', [Header.key]: JSON.stringify(item.keyValues) },
          out,
        );
        return;
      }
      case 'move': {
        // A key change whose row left TOAST values unsent: Debezium's delete + tombstone + create.
        const table = this.table(item.plan);
        this.txn!.seq++;
        const headers = {
          [Header.kind]: 'move',
          [Header.key]: JSON.stringify(item.oldKeyValues),
          [Header.row]: JSON.stringify(item.values.map((v) => v ?? null)),
          [Header.unchanged]: JSON.stringify(unsent(item.values)),
        };
        this.pushDelete(table, item.plan, item.oldKeyValues, item.old, null, out);
        const key = this.keyOf(item.plan, item.values as (string | null)[]);
        out.push(this.event(table, item.plan, key, 'c', null, item.values, headers));
        return;
      }
      default:
        return;
    }
  }

  private pushDelete(
    table: TableState,
    plan: RoutePlan,
    keyValues: readonly (string | null)[],
    old: (string | null)[] | undefined,
    headers: Record<string, string> | null,
    out: OutgoingMessage[],
  ): void {
    // Debezium: the whole old row with REPLICA IDENTITY FULL; else the key columns, others null.
    let before = old;
    if (!before) {
      before = plan.columns.map(() => null);
      plan.key.forEach((position, k) => (before![position] = keyValues[k] ?? null));
    }
    const event = this.event(table, plan, keyValues, 'd', before, null, headers ?? {});
    // The move's delete half carries no carve headers: `carve apply` takes the move from its create.
    if (headers === null) event.headers = {};
    out.push(event);
    out.push({ topic: table.topic, key: event.key, value: null, headers: {} });
  }

  private event(
    table: TableState,
    plan: RoutePlan,
    keyValues: readonly (string | null)[] | null,
    op: ChangeEvent['op'],
    before: EventRow | null,
    after: EventRow | null,
    headers: Record<string, string>,
  ): OutgoingMessage {
    const txn = this.txn!;
    const topicKey = table.topic;
    const order = (txn.perTable.get(topicKey) ?? 0) + 1;
    txn.perTable.set(topicKey, order);
    const value = table.envelope.valueJson({
      op,
      before,
      after,
      source: txn.source,
      transaction: { id: txn.transactionId, totalOrder: txn.seq, dataCollectionOrder: order },
      nowMicros: this.now(),
    });
    const all: Record<string, string> = {
      [Header.lsn]: txn.lsnText,
      [Header.xid]: txn.xidText,
      [Header.seq]: String(txn.seq),
      [Header.commitTime]: txn.commitMicrosText,
    };
    for (const name in headers) all[name] = headers[name]!;
    if (table.columnsHeader !== null && headers[Header.kind]) all[Header.columns] = table.columnsHeader;
    return {
      topic: table.topic,
      key: keyValues === null ? null : Buffer.from(table.envelope.keyJson(keyValues)),
      value: Buffer.from(value),
      headers: all,
    };
  }

  private keyOf(plan: RoutePlan, values: readonly (string | null | undefined)[]): (string | null)[] {
    return plan.key.map((position) => values[position] ?? null);
  }

  private table(plan: RoutePlan): TableState {
    let state = this.tables.get(plan);
    if (state) return state;
    const published = this.topics.get(plan.route.id)!;
    const types = this.types.get(`${plan.route.source.schema}.${plan.route.source.name}`)!;
    const envelope = new TableEnvelope(
      {
        prefix: this.events.prefix,
        schemas: this.events.schemas,
        database: this.database,
        version: this.version,
      },
      plan.route.source.schema,
      plan.route.source.name,
      plan.columns.map((c) => ({
        name: c.source,
        type: types.get(c.source)!.type,
        optional: !types.get(c.source)!.notNull,
      })),
      plan.key,
    );
    const names = plan.columns.map((c) => c.source);
    const same =
      names.length === published.columns.length && names.every((n, i) => n === published.columns[i]);
    state = { envelope, topic: published.topic, columnsHeader: same ? null : JSON.stringify(names) };
    this.tables.set(plan, state);
    return state;
  }
}

function unsent(values: readonly (string | null | undefined)[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    if (v === undefined) out.push(i);
  });
  return out;
}
