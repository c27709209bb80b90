import { describe, expect, it } from 'vitest';
import { freezeTriggerSql, lockSql, unfreezeTriggerSql } from '../../src/cutover/freeze.js';
import { FROZEN_SQLSTATE, frozenFunctionSql } from '../../src/state/monolith-schema.js';

/** The freeze's SQL as text (the integration tests run it): identifiers quoted, values as literals. */
describe('freeze SQL', () => {
  const odd = { schema: 'app"s', name: `"; drop table x; --` };

  it('locks every table in one statement, quoted', () => {
    expect(lockSql([{ schema: 'public', name: 'patients' }, odd])).toBe(
      `LOCK TABLE "public"."patients", "app""s"."""; drop table x; --" IN EXCLUSIVE MODE`,
    );
  });

  it('installs a statement-level trigger for every kind of write, message and hint as literals', () => {
    const sql = freezeTriggerSql('carve', {
      table: odd,
      message: `table "; drop table x; -- moved to patient's_db`,
      hint: 'write there',
    });
    expect(sql).toBe(
      `CREATE OR REPLACE TRIGGER "carve_frozen" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "app""s"."""; drop table x; --" ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION "carve"."frozen_write"('table "; drop table x; -- moved to patient''s_db', 'write there')`,
    );
    expect(unfreezeTriggerSql(odd)).toBe(
      `DROP TRIGGER IF EXISTS "carve_frozen" ON "app""s"."""; drop table x; --"`,
    );
  });

  it('raises the documented SQLSTATE with the trigger arguments, search_path pinned', () => {
    const sql = frozenFunctionSql((o) => `"carve"."${o}"`);
    expect(FROZEN_SQLSTATE).toBe('CV001');
    expect(sql).toContain(`ERRCODE = 'CV001', MESSAGE = TG_ARGV[0], HINT = TG_ARGV[1]`);
    expect(sql).toContain('SET search_path = pg_catalog');
  });
});
