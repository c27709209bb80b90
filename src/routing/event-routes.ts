import type { Catalog, TableRef } from '../catalog/model.js';
import type { Plan } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import type { EventRouting, TableRoute } from './model.js';
import { TableResolver } from './table-resolver.js';

/**
 * The plan's `events:` resolved on the routing: which monolith tables are published, under which
 * topic, which columns (those the plan moves: the owner route's, under their monolith names), and
 * which columns name the entities of `data.sync.completed`. Topic names follow Debezium's
 * (`<prefix>.<schema>.<table>`, characters Kafka refuses replaced by `_`); two tables on one topic,
 * an unrouted table and an entity column that is not published are problems.
 */
export function resolveEventRoutes(
  plan: Plan,
  catalog: Catalog,
  routes: readonly TableRoute[],
  stateSchema: string,
): { events?: EventRouting; problems: PlanProblem[] } {
  const events = plan.events;
  if (!events) return { problems: [] };
  const problems: PlanProblem[] = [];
  const resolver = new TableResolver(catalog, stateSchema);
  const owners = routes.filter((r) => r.kind === 'owned');
  const ownerOf = (table: TableRef) =>
    owners.find((r) => r.source.schema === table.schema && r.source.name === table.name);

  const lookup = (written: string, path: string): TableRoute | undefined => {
    const dot = written.indexOf('.');
    const [schema, name] = dot > 0 ? [written.slice(0, dot), written.slice(dot + 1)] : [undefined, written];
    const resolved = resolver.resolve(name, schema, path);
    if ('problem' in resolved) {
      problems.push(resolved.problem);
      return undefined;
    }
    const owner = ownerOf(resolved.table);
    if (!owner) {
      problems.push({
        code: PlanProblemCode.eventsTableNotRouted,
        path,
        object: `${resolved.table.schema}.${resolved.table.name}`,
        message: `Table ${resolved.table.schema}.${resolved.table.name} is not migrated by this plan, so it has no change events`,
        hint: 'Publish only tables a service owns, or assign the table to a service.',
        details: { table: `${resolved.table.schema}.${resolved.table.name}` },
      });
    }
    return owner;
  };

  const published = events.tables
    ? events.tables.map((t) => lookup(t.name, t.path)).filter((r): r is TableRoute => r !== undefined)
    : owners;
  const prefix = events.kafka ? events.kafka.topicPrefix : events.nats!.subjectPrefix;
  const byTopic = new Map<string, string>();
  const tables = published.map((route) => {
    const topic = events.kafka
      ? topicName(prefix, route.source.schema, route.source.name)
      : subjectName(prefix, route.source.schema, route.source.name);
    const table = `${route.source.schema}.${route.source.name}`;
    const other = byTopic.get(topic);
    if (other !== undefined && other !== table) {
      problems.push({
        code: PlanProblemCode.eventsTopicCollision,
        path: 'events',
        object: topic,
        message: `Tables ${other} and ${table} would both publish to topic ${topic}`,
        hint: 'Rename one of the tables on the monolith, or publish only one of them (events.tables).',
        details: { topic, tables: [other, table] },
      });
    }
    byTopic.set(topic, table);
    if (events.kafka && topic.length > 249) {
      problems.push({
        code: PlanProblemCode.eventsTopicCollision,
        path: 'events.kafka.topic_prefix',
        object: topic,
        message: `Topic ${topic} for ${table} is ${topic.length} characters; Kafka allows 249`,
        hint: 'Choose a shorter topic_prefix.',
        details: { topic, table },
      });
    }
    return {
      source: { ...route.source },
      topic,
      columns: route.columns.filter((c) => !c.generated).map((c) => c.source),
      routeId: route.id,
    };
  });

  const entities = (events.syncCompleted?.entities ?? []).flatMap((entity) => {
    const owner = lookup(entity.table, entity.path);
    if (!owner) return [];
    const table = tables.find((t) => t.routeId === owner.id);
    const missing = entity.columns.filter((c) => !table?.columns.includes(c));
    if (!table || missing.length > 0) {
      problems.push({
        code: PlanProblemCode.eventsColumnNotPublished,
        path: entity.path,
        object: `${owner.source.schema}.${owner.source.name}`,
        message: table
          ? `Column ${missing.join(', ')} of ${owner.source.schema}.${owner.source.name} is not published (unknown, dropped by the plan or generated)`
          : `Table ${owner.source.schema}.${owner.source.name} names entities but is not in events.tables`,
        hint: table ? 'Name a column the plan moves.' : 'Add the table to events.tables.',
        details: { table: `${owner.source.schema}.${owner.source.name}`, columns: missing },
      });
      return [];
    }
    return [{ source: { ...owner.source }, columns: entity.columns }];
  });

  return {
    events: {
      ...(events.kafka ? { kafka: { ...events.kafka } } : {}),
      ...(events.nats ? { nats: { ...events.nats } } : {}),
      prefix,
      schemas: events.schemas,
      tables,
      checkpointTopic: events.kafka
        ? `${prefix}.carve-checkpoints.${plan.name}`
        : subjectName(prefix, 'carve-checkpoints', plan.name),
      snapshot: events.snapshot,
      snapshotTopic: `${prefix}.carve-snapshot.${plan.name}`,
      ...(events.syncCompleted ? { syncCompleted: { topic: events.syncCompleted.topic, entities } } : {}),
    },
    problems,
  };
}

/** Debezium's topic name for a table: `<prefix>.<schema>.<table>`, invalid characters as `_`. */
export function topicName(prefix: string, schema: string, table: string): string {
  return `${prefix}.${schema}.${table}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The NATS subject of a table, `<prefix>.<schema>.<table>`: a dot or a character NATS gives a
 * meaning (space, `*`, `>`) inside a name becomes `_`, so every table is exactly two tokens after
 * the prefix and subscribers can filter with `<prefix>.<schema>.*`.
 */
export function subjectName(prefix: string, schema: string, table: string): string {
  const token = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_');
  return `${prefix}.${token(schema)}.${token(table)}`;
}
