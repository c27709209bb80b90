import { z } from 'zod';

/**
 * The plan file's shape. Every object is strict (an unknown key is an error, so a typo never
 * silently does nothing); null values and shorthands are normalized before validation so that
 * nested errors keep their exact path.
 */

const nonEmpty = z.string().min(1, 'must not be empty');
const postgresUrl = nonEmpty.refine((v) => /^postgres(ql)?:\/\//.test(v), {
  message: 'must be a postgres:// or postgresql:// connection URL',
});

const columnSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { from: v } : v),
  z.strictObject({ from: nonEmpty }),
);

const tableSchema = z.preprocess(
  (v) => v ?? {},
  z.strictObject({
    from: nonEmpty.optional(),
    schema: nonEmpty.optional(),
    columns: z.preprocess((v) => v ?? {}, z.record(z.string(), columnSchema)).optional(),
    drop: z.array(nonEmpty).optional(),
  }),
);

const serviceSchema = z.strictObject({
  database: nonEmpty,
  role: nonEmpty.optional(),
  password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  carve_role: nonEmpty.optional(),
  carve_password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  target: postgresUrl.optional(),
  readonly: z.boolean().optional(),
  audit_table: nonEmpty.optional(),
  tables: z.preprocess((v) => v ?? {}, z.record(z.string(), tableSchema)),
});

const projectionSchema = z.strictObject({
  from: nonEmpty,
  schema: nonEmpty.optional(),
  to: z.string().regex(/^[^.]+\..+$/, 'must be <service>.<table>'),
  /** Source column names; `{ target: source }` renames one in the projection. */
  columns: z
    .array(
      z.union([
        nonEmpty,
        z
          .record(z.string().min(1), nonEmpty)
          .refine((v) => Object.keys(v).length === 1, { message: 'a rename is written { target: source }' }),
      ]),
    )
    .min(1, 'must list at least one column')
    .optional(),
});

const excludeSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { table: v } : v),
  z.strictObject({ table: nonEmpty, schema: nonEmpty.optional() }),
);

/** A Kafka topic name as Kafka accepts it. */
const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"')
  .max(249, 'must be at most 249 characters');

const kafkaSchema = z.strictObject({
  brokers: z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((b) => b.trim()) : v),
    z.array(nonEmpty.regex(/^[^\s/]+:\d+$/, 'must be host:port')).min(1, 'must list at least one broker'),
  ),
  topic_prefix: topicName,
  client_id: nonEmpty.optional(),
  /** Partitions of each table topic carve creates (existing topics are used as they are). */
  partitions: z.number().int().min(1).optional(),
  replication_factor: z.number().int().min(-1).optional(),
});

/** A NATS subject prefix: dot-separated tokens without wildcards or spaces. */
const subjectPrefix = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
    'must be dot-separated tokens of letters, digits, "_" and "-"',
  );

/** A JetStream duplicate window: `<n>ms`, `<n>s`, `<n>m` or `<n>h`. */
export const durationText = z.string().regex(/^\d+(ms|s|m|h)$/, 'must be a duration like 2m, 90s or 1h');

const natsSchema = z.strictObject({
  servers: z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((b) => b.trim()) : v),
    z
      .array(
        nonEmpty.regex(
          /^(nats|tls):\/\/[^\s/]+$|^[^\s/:]+:\d+$/,
          'must be nats://[user:password@]host:port or host:port',
        ),
      )
      .min(1, 'must list at least one server'),
  ),
  subject_prefix: subjectPrefix,
  /** The JetStream stream (created when missing, covering `<subject_prefix>.>`); default from the prefix. */
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "_" and "-"')
    .optional(),
  /** The stream's duplicate window: how long a Nats-Msg-Id is remembered (JetStream's default 2m). */
  duplicate_window: durationText.optional(),
  /** Replicas of the stream carve creates (default 1). */
  replicas: z.number().int().min(1).max(5).optional(),
});

const eventsSchema = z
  .strictObject({
    /** Exactly one broker: Kafka or NATS JetStream. */
    kafka: kafkaSchema.optional(),
    nats: natsSchema.optional(),
    /** Monolith tables to publish (`table` or `schema.table`); default every routed table. */
    tables: z.array(nonEmpty).optional(),
    /** JsonConverter schemas.enable: `{schema, payload}` (true, Debezium's default) or the payload only. */
    schemas: z.boolean().optional(),
    /** Snapshot reads (`op: r`) for every row the copy loads of a published table; off by default. */
    snapshot: z.boolean({ message: 'must be true or false' }).optional(),
    sync_completed: z
      .strictObject({
        topic: topicName.optional(),
        /** Monolith table → the column(s) whose value names the entity a change touched. */
        entity: z
          .record(z.string().min(1), z.union([nonEmpty, z.array(nonEmpty).min(1)]))
          .refine((v) => Object.keys(v).length > 0, { message: 'must name at least one table' }),
      })
      .optional(),
  })
  .refine((e) => (e.kafka === undefined) !== (e.nats === undefined), {
    message: 'must name exactly one broker: kafka or nats',
  })
  .refine((e) => !(e.nats && e.sync_completed), {
    message: 'sync_completed is published on Kafka only (events.kafka)',
    path: ['sync_completed'],
  })
  .refine((e) => !(e.nats && e.snapshot), {
    message: 'snapshot reads are published on Kafka only (events.kafka)',
    path: ['snapshot'],
  });

export const planFileSchema = z.strictObject({
  name: z.string().optional(),
  source: postgresUrl,
  target: postgresUrl,
  schema_changes: z.enum(['apply_compatible', 'stop', 'add_nullable_columns']).optional(),
  services: z
    .record(z.string().regex(/^[^.]+$/, 'service names may not contain a dot'), serviceSchema)
    .refine((v) => Object.keys(v).length > 0, { message: 'must define at least one service' }),
  projections: z.preprocess((v) => v ?? [], z.array(projectionSchema)).optional(),
  exclude: z.preprocess((v) => v ?? [], z.array(excludeSchema)).optional(),
  events: eventsSchema.optional(),
});

export type PlanFile = z.infer<typeof planFileSchema>;
