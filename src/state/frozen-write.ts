/**
 * The freeze's trigger function, shared by the monolith's and the service databases' state schemas.
 * Kept apart from the schema runners so that the public types (FROZEN_SQLSTATE is exported) reach no
 * pg types.
 */

/** The SQLSTATE a write to a frozen table fails with (documented in docs/cutover.md). */
export const FROZEN_SQLSTATE = 'CV001';

/** The name of the freeze's trigger function, in the state schema of either side. */
export const FROZEN_FUNCTION = 'frozen_write';

/**
 * The freeze's trigger function: statement-level, so one raise per statement, never per row. Its
 * search_path is pinned: it calls nothing, but a function a trigger runs for every writer must not
 * resolve names through theirs.
 */
export function frozenFunctionSql(name: (object: string) => string): string {
  return `CREATE OR REPLACE FUNCTION ${name(FROZEN_FUNCTION)}() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $carve$
    BEGIN
      RAISE EXCEPTION USING ERRCODE = '${FROZEN_SQLSTATE}', MESSAGE = TG_ARGV[0], HINT = TG_ARGV[1];
    END
    $carve$`;
}
