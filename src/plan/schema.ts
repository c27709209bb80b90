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

export const planFileSchema = z.strictObject({
  name: z.string().optional(),
  source: postgresUrl,
  target: postgresUrl,
  schema_changes: z.enum(['stop', 'add_nullable_columns']).optional(),
  services: z
    .record(z.string().regex(/^[^.]+$/, 'service names may not contain a dot'), serviceSchema)
    .refine((v) => Object.keys(v).length > 0, { message: 'must define at least one service' }),
  projections: z.preprocess((v) => v ?? [], z.array(projectionSchema)).optional(),
  exclude: z.preprocess((v) => v ?? [], z.array(excludeSchema)).optional(),
});

export type PlanFile = z.infer<typeof planFileSchema>;
