/**
 * login_attempts: an append-only audit log with no primary key and no unique key, as legacy
 * systems have. The migration plan excludes it; carve's guardrails must reject moving it.
 */
export const excludedDdl: readonly string[] = [
  `CREATE TABLE login_attempts (
     profile_id uuid,
     email text NOT NULL,
     attempted_at timestamptz NOT NULL,
     ip_address inet,
     succeeded boolean NOT NULL,
     failure_reason text
   )`,
  `CREATE INDEX login_attempts_attempted_at_idx ON login_attempts (attempted_at)`,
];
