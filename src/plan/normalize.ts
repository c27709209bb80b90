import type { Plan, PlanEvents, PlanService } from './model.js';
import { formatPath, PlanProblemCode, type PlanLocation, type PlanProblem } from './problems.js';
import type { PlanFile } from './schema.js';

/** Slot names allow only lower-case letters, digits and underscores. */
const MIGRATION_NAME = /^[a-z0-9_]+$/;

/** A file name turned into a usable migration name: `CareSync-plan` → `caresync_plan`. */
export function migrationNameFromFile(base: string): string {
  const cleaned = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return cleaned || 'carve';
}

/** Fill defaults, turn maps into ordered lists, remember each element's path. */
export function normalizePlan(
  file: PlanFile,
  options: { file?: string; fallbackName: string; locations: Record<string, PlanLocation> },
): { plan: Plan; problems: PlanProblem[] } {
  const problems: PlanProblem[] = [];
  const name = file.name ?? migrationNameFromFile(options.fallbackName);
  if (!MIGRATION_NAME.test(name)) {
    problems.push({
      code: PlanProblemCode.invalidName,
      path: 'name',
      object: name,
      message: `Migration name "${name}" is not usable for a replication slot`,
      hint: 'Use only lower-case letters, digits and underscores, e.g. `name: caresync`.',
      details: { name },
    });
  }

  const services: PlanService[] = Object.entries(file.services).map(([serviceName, s]) => {
    const servicePath = ['services', serviceName];
    return {
      name: serviceName,
      database: s.database,
      role: s.role ?? `${serviceName}_service`,
      roleIsDefault: s.role === undefined,
      ...(s.password_env ? { passwordEnv: s.password_env } : {}),
      carveRole: s.carve_role ?? `carve_${serviceName}`,
      carveRoleIsDefault: s.carve_role === undefined,
      ...(s.carve_password_env ? { carvePasswordEnv: s.carve_password_env } : {}),
      target: s.target ?? file.target,
      readonly: s.readonly ?? false,
      ...(s.audit_table ? { auditTable: s.audit_table } : {}),
      path: formatPath(servicePath),
      tables: Object.entries(s.tables).map(([tableName, t]) => {
        const tablePath = [...servicePath, 'tables', tableName];
        return {
          name: tableName,
          from: t.from ?? tableName,
          ...(t.schema ? { schema: t.schema } : {}),
          columns: Object.entries(t.columns ?? {}).map(([target, c]) => ({
            target,
            from: c.from,
            path: formatPath([...tablePath, 'columns', target, 'from']),
          })),
          drop: (t.drop ?? []).map((column, i) => ({
            name: column,
            path: formatPath([...tablePath, 'drop', i]),
          })),
          path: formatPath(tablePath),
        };
      }),
    };
  });

  const plan: Plan = {
    name,
    ...(options.file ? { file: options.file } : {}),
    source: file.source,
    target: file.target,
    // add_nullable_columns is the older name of apply_compatible (which also widens types).
    schemaChanges: file.schema_changes === 'stop' ? 'stop' : 'apply_compatible',
    services,
    projections: (file.projections ?? []).map((p, i) => {
      const dot = p.to.indexOf('.');
      return {
        from: p.from,
        ...(p.schema ? { schema: p.schema } : {}),
        service: p.to.slice(0, dot),
        table: p.to.slice(dot + 1),
        ...(p.columns
          ? {
              columns: p.columns.map((c, j) => {
                const [target, source] = typeof c === 'string' ? [c, c] : Object.entries(c)[0]!;
                return { name: source, target, path: formatPath(['projections', i, 'columns', j]) };
              }),
            }
          : {}),
        path: formatPath(['projections', i]),
      };
    }),
    exclude: (file.exclude ?? []).map((e, i) => ({
      name: e.table,
      ...(e.schema ? { schema: e.schema } : {}),
      path: formatPath(['exclude', i]),
    })),
    ...(file.events ? { events: normalizeEvents(file.events) } : {}),
    locations: options.locations,
  };
  return { plan, problems };
}

function normalizeEvents(events: NonNullable<PlanFile['events']>): PlanEvents {
  return {
    ...(events.kafka
      ? {
          kafka: {
            brokers: events.kafka.brokers,
            topicPrefix: events.kafka.topic_prefix,
            clientId: events.kafka.client_id ?? 'carve',
            partitions: events.kafka.partitions ?? 1,
            replicationFactor: events.kafka.replication_factor ?? -1,
          },
        }
      : {}),
    ...(events.nats
      ? {
          nats: {
            servers: events.nats.servers,
            subjectPrefix: events.nats.subject_prefix,
            stream: events.nats.stream ?? events.nats.subject_prefix.replace(/\./g, '_'),
            duplicateWindowMs: durationMs(events.nats.duplicate_window ?? '2m'),
            replicas: events.nats.replicas ?? 1,
          },
        }
      : {}),
    ...(events.tables
      ? { tables: events.tables.map((name, i) => ({ name, path: formatPath(['events', 'tables', i]) })) }
      : {}),
    schemas: events.schemas ?? true,
    snapshot: events.snapshot ?? false,
    ...(events.sync_completed
      ? {
          syncCompleted: {
            topic: events.sync_completed.topic ?? 'data.sync.completed',
            entities: Object.entries(events.sync_completed.entity).map(([table, columns]) => ({
              table,
              columns: typeof columns === 'string' ? [columns] : columns,
              path: formatPath(['events', 'sync_completed', 'entity', table]),
            })),
          },
        }
      : {}),
    path: 'events',
  };
}

/** `90s`, `2m`, `1h`, `500ms` (checked by the plan schema) → milliseconds. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text)!;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
