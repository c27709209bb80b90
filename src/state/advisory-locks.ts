/**
 * Every PostgreSQL advisory lock carve takes, by name. Keys are bigints (pg_advisory_lock(bigint));
 * text keys are hashed on the server with hashtextextended(text, 0), so two carve versions agree.
 *
 * - stateSchema:   transaction-scoped, on a target database, while the state schema is created or
 *                  upgraded (src/state/state-schema.ts): concurrent first runs would race on DDL.
 *                  The value is the one carve has always used for its state tables, so a process of
 *                  an older version creating them at the same time is serialised too.
 * - monolithSchema: transaction-scoped, on the monolith, while carve's schema there is created or
 *                  upgraded (src/state/monolith-schema.ts).
 * - migration:     session-scoped, on the monolith, for the life of a command: one carve process per
 *                  migration (src/state/migration-lock.ts).
 * - command:       session-scoped and shared, on the monolith, taken just before `migration` by the
 *                  same session: tells a waiting process which command holds the migration.
 * - cutover:       session-scoped, on the monolith, for the life of carve cutover / rollback /
 *                  complete / cancel: one service changes hands at a time (a running carve sync
 *                  keeps the migration lock meanwhile, so this is a lock of its own).
 */
export const AdvisoryLock = {
  stateSchema: 7061003n,
  monolithSchema: 7061004n,
  migration: (migration: string): string => `carve:${migration}`,
  command: (migration: string, command: string): string => `carve:${migration}:${command}`,
  cutover: (migration: string): string => `carve:${migration}/cutover`,
  /** Session-scoped, on the monolith: one carve resync per table (src/resync/resync-lock.ts). */
  resync: (migration: string, table: string): string => `carve:${migration}:resync:${table}`,
} as const;
