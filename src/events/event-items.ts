import type { TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import type { Routing } from '../routing/model.js';
import type { ApplyItem } from '../sync/apply-queue.js';
import { UNCHANGED_TOAST, type RelationMessage, type Tuple } from '../sync/pgoutput/messages.js';
import { routeChange, type RoutedChange } from '../sync/route-change.js';
import { planRelation, type RelationPlan } from '../sync/route-plan.js';
import { Header } from './change-messages.js';
import type { OrderedRecord } from './topic-cursor.js';

/**
 * Turns change events read back from Kafka into the items the service database's applier takes,
 * through the same routing code as the stream: each event becomes the pgoutput message it came
 * from (insert, update with or without unsent TOAST values, delete by key, key change), and
 * routeChange maps it to this database's routes (the owner, projections) exactly as in process.
 */
export class EventItems {
  private readonly relations = new Map<string, { plan: RelationPlan; width: number }>();
  private readonly byTopic = new Map<string, { source: TableRef; columns: string[] }>();
  private relationIds = 1;

  /** `routing` restricted to the routes of one service database. */
  constructor(private readonly routing: Routing) {
    for (const table of routing.events!.tables) this.byTopic.set(table.topic, table);
  }

  /** The routed changes of one event (none when no route of this database is touched). */
  changes(event: OrderedRecord, out: ApplyItem[]): void {
    const headers = event.record.headers;
    const kind = headers.get(Header.kind)!;
    const rowText = headers.get(Header.row);
    const values = rowText ? (JSON.parse(rowText) as (string | null)[]) : undefined;
    const relation = this.relation(
      event.topic,
      this.columnsOf(event.topic, headers.get(Header.columns), values),
    );
    const row = (): Tuple => {
      const tuple: Tuple = values!;
      const unsent = headers.get(Header.unchanged);
      if (unsent) for (const i of JSON.parse(unsent) as number[]) tuple[i] = UNCHANGED_TOAST;
      return tuple;
    };
    const keyTuple = (): Tuple => {
      const key = JSON.parse(headers.get(Header.key)!) as (string | null)[];
      const tuple: Tuple = new Array(relation.width).fill(null);
      relation.plan.sourceKey.forEach((position, k) => (tuple[position] = key[k] ?? null));
      return tuple;
    };
    const routed: RoutedChange[] = [];
    const relationId = relation.plan.relationId;
    switch (kind) {
      case 'upsert':
        routeChange(relation.plan, { tag: 'insert', relationId, newTuple: row() }, routed);
        break;
      case 'update':
      case 'patch':
        routeChange(
          relation.plan,
          { tag: 'update', relationId, oldKind: null, oldTuple: null, newTuple: row() },
          routed,
        );
        break;
      case 'delete':
        routeChange(
          relation.plan,
          { tag: 'delete', relationId, oldKind: 'key', oldTuple: keyTuple() },
          routed,
        );
        break;
      case 'move':
        routeChange(
          relation.plan,
          { tag: 'update', relationId, oldKind: 'key', oldTuple: keyTuple(), newTuple: row() },
          routed,
        );
        break;
      case 'read':
        // A snapshot read (op r) of the copy: the service database was loaded by the copy itself
        // and the changes after the snapshot follow; applying an older read would undo them.
        return;
      default:
        throw new CarveError(
          'APPLY_EVENT_UNKNOWN',
          `An event on ${event.topic} has kind ${kind}, which this carve does not know`,
          {
            details: {
              topic: event.topic,
              partition: event.partition,
              offset: String(event.record.offset),
              kind,
            },
            hint: 'Run carve apply from the same carve version as the publishing carve sync.',
          },
        );
    }
    for (const change of routed) out.push(change);
  }

  /**
   * The columns an event's row carries: its carve.columns header, else the published columns of
   * the plan. An event published before a column was added on the monolith (by a publisher that
   * started before it) has no header and fewer values than a plan read since: ADD COLUMN appends,
   * so its row holds the plan's first columns.
   */
  private columnsOf(
    topic: string,
    header: string | undefined,
    row: unknown[] | undefined,
  ): string | undefined {
    if (header || !row) return header;
    const columns = this.byTopic.get(topic)!.columns;
    return row.length < columns.length ? JSON.stringify(columns.slice(0, row.length)) : undefined;
  }

  /** One truncate item for the tables of a TRUNCATE statement that have routes here. */
  truncate(event: OrderedRecord): ApplyItem | undefined {
    const tables = JSON.parse(event.record.headers.get(Header.truncate)!) as string[];
    const item: ApplyItem & { kind: 'truncate' } = { kind: 'truncate', tables: [], plans: [] };
    for (const name of tables) {
      const table = this.routing.events!.tables.find((t) => `${t.source.schema}.${t.source.name}` === name);
      if (!table) continue;
      for (const plan of this.relation(table.topic, undefined).plan.routes) {
        item.tables.push(plan.route.target);
        item.plans.push(plan);
      }
    }
    return item.plans.length > 0 ? item : undefined;
  }

  private relation(topic: string, columnsHeader: string | undefined): { plan: RelationPlan; width: number } {
    const cacheKey = `${topic}\u0000${columnsHeader ?? ''}`;
    const cached = this.relations.get(cacheKey);
    if (cached) return cached;
    const table = this.byTopic.get(topic)!;
    const columns = columnsHeader ? (JSON.parse(columnsHeader) as string[]) : table.columns;
    const catalog = this.routing.routes.find(
      (r) => r.source.schema === table.source.schema && r.source.name === table.source.name,
    )!.sourceTable;
    const message: RelationMessage = {
      tag: 'relation',
      relationId: this.relationIds++,
      schema: table.source.schema,
      name: table.source.name,
      replicaIdentity: 'default',
      columns: columns.map((name) => {
        const column = catalog.columns.find((c) => c.name === name);
        return { name, flags: 0, isKey: false, typeOid: column?.typeOid ?? 25, typeMod: -1 };
      }),
    };
    const result = planRelation(message, this.routing, new Map());
    if (result.kind !== 'plan') {
      throw new CarveError('APPLY_COLUMN_ADDED', `Events of ${topic} carry columns the plan does not know`, {
        details: { topic, columns: result.kind === 'add-columns' ? result.columns.map((c) => c.column) : [] },
        hint: `carve apply reads the monolith's columns when it starts: run it again, it adds them to ${this.routing.services[0]!.database} first and applies their values.`,
      });
    }
    const relation = { plan: result.plan, width: columns.length };
    this.relations.set(cacheKey, relation);
    return relation;
  }
}
