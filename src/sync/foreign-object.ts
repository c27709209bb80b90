/**
 * An object in a service database that carve did not create and whose code a service role could
 * control (target-guard.ts finds them). Kept apart from the guard so that the error catalogue, and
 * through it the library's public types, does not reach pg's types.
 */
export interface ForeignObject {
  /** `schema.table` the object sits on. */
  table: string;
  kind:
    | 'trigger'
    | 'rule'
    | 'policy'
    | 'row-level security'
    | 'constraint'
    | 'default'
    | 'index'
    | 'column type'
    | 'view'
    | 'materialized view'
    | 'foreign table'
    | 'relation';
  /** The trigger, rule, policy, constraint or index; the column for defaults and column types. */
  name: string;
  /** Role owning the code involved, when there is one. */
  owner: string | null;
  /** The statement that removes it (run as the service role or the admin). */
  fix: string;
}
