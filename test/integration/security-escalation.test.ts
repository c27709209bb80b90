import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { startSync } from '../../src/sync/index.js';
import { verify } from '../../src/verify/index.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * A hostile service role attacks carve through what it may create in its own database: triggers
 * (every kind), rules, policies, constraint/default/index expressions calling its functions, and
 * functions or operators that shadow built-ins through search_path. Each attack tries to make
 * carve's copy, sync or verify run `ALTER ROLE <service> SUPERUSER` with carve's rights; every test
 * asserts that the role gained nothing (not superuser, still cannot read another service's table)
 * and that whatever the planted code ran as was never a superuser.
 */

const MONOLITH = `
  CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE codes (code varchar(16) PRIMARY KEY, label text);
  CREATE TABLE secrets (id int PRIMARY KEY, secret text);
  INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 20) g;
  INSERT INTO codes SELECT 'c' || g, 'l' || g FROM generate_series(1, 20) g;
  INSERT INTO secrets SELECT g, 's' || g FROM generate_series(1, 5) g;
`;

const planBody = (p: string) => `
services:
  ${p}alpha:
    database: ${p}alpha_db
    tables: { accounts: {}, codes: {} }
  ${p}beta:
    database: ${p}beta_db
    tables: { secrets: {} }
projections:
  - { from: secrets, to: ${p}alpha.secret_ids, columns: [id] }
`;

/**
 * What the attacker (role `<p>alpha_service`) plants first: a function that records who runs it and
 * tries to make the attacker superuser, swallowing any error so that carve's statement succeeds.
 */
const ESCALATE = (role: string, psql: string) => `
  CREATE TABLE public.evidence (who name, super boolean, at timestamptz DEFAULT clock_timestamp());
  CREATE TABLE public.rule_log (ok boolean);
  CREATE FUNCTION public.escalate() RETURNS void LANGUAGE plpgsql AS $fn$
  BEGIN
    BEGIN
      INSERT INTO public.evidence (who, super)
        SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    BEGIN
      EXECUTE 'ALTER ROLE ${role} SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
      -- In a read-only transaction a superuser still runs programs on the server.
      BEGIN
        EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal(${psql});
      EXCEPTION WHEN OTHERS THEN NULL;
      END;
    END;
  END $fn$;
  CREATE FUNCTION public.escalate_bool() RETURNS boolean LANGUAGE plpgsql AS $fn$
  BEGIN PERFORM public.escalate(); RETURN true; END $fn$;
  CREATE FUNCTION public.escalate_trigger() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN PERFORM public.escalate(); RETURN NULL; END $fn$;
`;

/** A shell command, run by the server, that makes `role` superuser through a fresh connection. */
function psqlEscalation(role: string): string {
  const bin = join(clusters.target.binaries.binDir, 'psql');
  return `'${bin} -h 127.0.0.1 -p ${clusters.target.port} -U postgres -d postgres -c "ALTER ROLE ${role} SUPERUSER"'`;
}

let clusters: Awaited<ReturnType<typeof useMigrationClusters>>;
let m: Migration;
const P = 's_';
const ATTACKER = `${P}alpha_service`;
let nextId = 1000;

async function asAttacker(sql: string, database = `${P}alpha_db`, role = ATTACKER): Promise<void> {
  await withClient(clusters.target.url(database, role), (c) => c.query(sql));
}

async function asAdmin(database: string, sql: string): Promise<Record<string, unknown>[]> {
  return withClient(clusters.target.url(database), async (c) => (await c.query(sql)).rows);
}

async function monolith(sql: string): Promise<void> {
  await withClient(m.sourceUrl, (c) => c.query(sql));
}

/** The attacker is no superuser, cannot read the other service's table, and its code never ran as one. */
async function assertGainedNothing(role = ATTACKER, database = `${P}alpha_db`, other = `${P}beta_db`) {
  const [attacker] = await asAdmin('postgres', `SELECT rolsuper FROM pg_roles WHERE rolname = '${role}'`);
  expect(attacker).toEqual({ rolsuper: false });
  // CONNECT on the other service's database is refused (SQLSTATE 42501).
  await expect(asAttacker('SELECT * FROM public.secrets', other, role)).rejects.toMatchObject({
    code: 'CONNECTION_PERMISSION_DENIED',
    sqlState: '42501',
  });
  const escalated = await asAdmin(database, 'SELECT who FROM public.evidence WHERE super');
  expect(escalated).toEqual([]);
}

/** Writes to every table of the attacked database, then one sync session until caught up (or failed). */
async function syncOnce(): Promise<unknown> {
  const id = nextId++;
  await monolith(`
    INSERT INTO accounts VALUES (${id}, 'n${id}');
    UPDATE accounts SET name = name || '.' WHERE id <= 3;
    UPDATE codes SET label = label || '.' WHERE code IN ('c15', 'c16');
    DELETE FROM codes WHERE code = 'c${1 + (id % 10)}';
    INSERT INTO codes VALUES ('k${id}', 'new');
    UPDATE secrets SET secret = secret || '.' WHERE id = 1;`);
  let engine: Awaited<ReturnType<typeof startSync>> | undefined;
  try {
    engine = await startSync({ routing: m.routing });
    await engine.waitForCatchUp();
    await engine.stop();
    return undefined;
  } catch (error) {
    await engine?.stop().catch(() => {});
    return error;
  }
}

beforeAll(async () => {
  clusters = await useMigrationClusters('security');
  m = await prepareMigration(clusters, { name: 'sec', monolithSql: MONOLITH, planBody: planBody(P) });
  await runCopy(m.routing);
  await asAttacker(ESCALATE(ATTACKER, psqlEscalation(ATTACKER)));
});

/** Remove what a test planted (as the admin) and put the attacker back where it was. */
const cleanups: string[] = [];
afterEach(async () => {
  for (const sql of cleanups.splice(0)) await asAdmin(`${P}alpha_db`, sql);
  await asAdmin('postgres', `ALTER ROLE ${ATTACKER} NOSUPERUSER`);
  await asAdmin(`${P}alpha_db`, 'TRUNCATE public.evidence');
});

/** One sync-phase attack: plant, stream a write, assert refusal with the named objects and no gain. */
async function refusedAtSessionStart(
  plant: string,
  cleanup: string,
  expected: { table: string; kind: string; name?: string }[],
): Promise<void> {
  await asAttacker(plant);
  cleanups.push(cleanup);
  const error = await syncOnce();
  await assertGainedNothing();
  expect(error).toMatchObject({
    code: 'TARGET_FOREIGN_OBJECT',
    details: { database: `${P}alpha_db`, objects: expected.map((e) => expect.objectContaining(e)) },
  });
  // The hint's statements, run as the service role, remove what blocks carve; then it catches up.
  const fix = (error as { details: { objects: { fix: string }[] } }).details.objects.map((o) => o.fix);
  await asAttacker(fix.join(';\n'));
  expect(await syncOnce()).toBeUndefined();
  expect(await mismatchedRoutes(m.routing)).toEqual([]);
  await assertGainedNothing();
}

describe('a service role cannot make carve run its code with more rights', () => {
  it('ENABLE ALWAYS row trigger', async () => {
    await refusedAtSessionStart(
      `CREATE TRIGGER t_always AFTER INSERT OR UPDATE OR DELETE ON public.accounts
         FOR EACH ROW EXECUTE FUNCTION public.escalate_trigger();
       ALTER TABLE public.accounts ENABLE ALWAYS TRIGGER t_always;`,
      'DROP TRIGGER IF EXISTS t_always ON public.accounts',
      [{ table: 'public.accounts', kind: 'trigger', name: 't_always' }],
    );
  });

  it('ENABLE REPLICA row trigger', async () => {
    await refusedAtSessionStart(
      `CREATE TRIGGER t_replica BEFORE INSERT OR UPDATE OR DELETE ON public.codes
         FOR EACH ROW EXECUTE FUNCTION public.escalate_trigger();
       ALTER TABLE public.codes ENABLE REPLICA TRIGGER t_replica;`,
      'DROP TRIGGER IF EXISTS t_replica ON public.codes',
      [{ table: 'public.codes', kind: 'trigger', name: 't_replica' }],
    );
  });

  it('statement-level trigger, and a constraint trigger', async () => {
    await refusedAtSessionStart(
      `CREATE TRIGGER t_statement AFTER UPDATE ON public.accounts
         FOR EACH STATEMENT EXECUTE FUNCTION public.escalate_trigger();
       ALTER TABLE public.accounts ENABLE ALWAYS TRIGGER t_statement;
       CREATE CONSTRAINT TRIGGER t_constraint AFTER INSERT ON public.codes
         FOR EACH ROW EXECUTE FUNCTION public.escalate_trigger();
       ALTER TABLE public.codes ENABLE ALWAYS TRIGGER t_constraint;`,
      'DROP TRIGGER IF EXISTS t_statement ON public.accounts; DROP TRIGGER IF EXISTS t_constraint ON public.codes',
      [
        { table: 'public.accounts', kind: 'trigger', name: 't_statement' },
        { table: 'public.codes', kind: 'trigger', name: 't_constraint' },
      ],
    );
  });

  it('a rule (ENABLE ALWAYS)', async () => {
    await refusedAtSessionStart(
      // (ON CONFLICT refuses tables with INSERT or UPDATE rules: a DELETE rule is the one that bites.)
      `CREATE RULE r_evil AS ON DELETE TO public.codes DO ALSO INSERT INTO public.rule_log SELECT public.escalate_bool();
       ALTER TABLE public.codes ENABLE ALWAYS RULE r_evil;`,
      'DROP RULE IF EXISTS r_evil ON public.codes',
      [{ table: 'public.codes', kind: 'rule', name: 'r_evil' }],
    );
  });

  it('a row-level security policy (forced on the owner)', async () => {
    await refusedAtSessionStart(
      `ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
       ALTER TABLE public.accounts FORCE ROW LEVEL SECURITY;
       CREATE POLICY p_evil ON public.accounts USING (public.escalate_bool());`,
      `DROP POLICY IF EXISTS p_evil ON public.accounts;
       ALTER TABLE public.accounts NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY`,
      [
        { table: 'public.accounts', kind: 'policy', name: 'p_evil' },
        { table: 'public.accounts', kind: 'row-level security' },
      ],
    );
  });

  it('a CHECK constraint calling a function the service owns', async () => {
    await refusedAtSessionStart(
      `ALTER TABLE public.accounts ADD CONSTRAINT c_evil CHECK (public.escalate_bool())`,
      'ALTER TABLE public.accounts DROP CONSTRAINT IF EXISTS c_evil',
      [{ table: 'public.accounts', kind: 'constraint', name: 'c_evil' }],
    );
  });

  it('a DEFAULT calling a function the service owns (on a column carve does not write)', async () => {
    await refusedAtSessionStart(
      `CREATE FUNCTION public.escalate_text() RETURNS text LANGUAGE plpgsql AS $fn$
       BEGIN PERFORM public.escalate(); RETURN 'x'; END $fn$;
       ALTER TABLE public.accounts ADD COLUMN extra text DEFAULT public.escalate_text();`,
      'ALTER TABLE public.accounts DROP COLUMN IF EXISTS extra; DROP FUNCTION IF EXISTS public.escalate_text()',
      [{ table: 'public.accounts', kind: 'default', name: 'extra' }],
    );
  });

  it('an index expression calling a function the service owns', async () => {
    await refusedAtSessionStart(
      `CREATE FUNCTION public.evil_key(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fn$
       BEGIN PERFORM public.escalate(); RETURN $1; END $fn$;
       CREATE INDEX i_evil ON public.accounts (public.evil_key(name));`,
      'DROP INDEX IF EXISTS public.i_evil; DROP FUNCTION IF EXISTS public.evil_key(text)',
      [{ table: 'public.accounts', kind: 'index', name: 'i_evil' }],
    );
  });

  it('a function shadowing a built-in through search_path (unnest)', async () => {
    await asAttacker(`
      CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $fn$
      BEGIN PERFORM public.escalate(); RETURN QUERY SELECT pg_catalog.unnest($1); END $fn$;`);
    cleanups.push('DROP FUNCTION IF EXISTS public.unnest(text[])');
    expect(await syncOnce()).toBeUndefined();
    await assertGainedNothing();
    expect(await asAdmin(`${P}alpha_db`, 'SELECT who FROM public.evidence')).toEqual([]);
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('an operator shadowing = on a varchar key through search_path', async () => {
    await asAttacker(`
      CREATE FUNCTION public.evil_eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS $fn$
      BEGIN PERFORM public.escalate(); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END $fn$;
      CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.evil_eq);`);
    cleanups.push(
      'DROP OPERATOR IF EXISTS public.= (varchar, varchar); DROP FUNCTION IF EXISTS public.evil_eq(varchar, varchar)',
    );
    expect(await syncOnce()).toBeUndefined();
    await assertGainedNothing();
    expect(await asAdmin(`${P}alpha_db`, 'SELECT who FROM public.evidence')).toEqual([]);
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('a trigger planted while a sync session runs fires with no more than the service database rights, and sync stops', async () => {
    const engine = await startSync({ routing: m.routing, guardIntervalMs: 1500 });
    let stopped: unknown;
    try {
      await engine.waitForCatchUp();
      await asAttacker(`
        CREATE TRIGGER t_late AFTER UPDATE ON public.accounts
          FOR EACH ROW EXECUTE FUNCTION public.escalate_trigger();
        ALTER TABLE public.accounts ENABLE ALWAYS TRIGGER t_late;`);
      cleanups.push('DROP TRIGGER IF EXISTS t_late ON public.accounts');
      await monolith(`UPDATE accounts SET name = name || '+' WHERE id = 5`);
      await engine.waitForCatchUp();
      // It did run — as a role that is not a superuser.
      const ran = await asAdmin(`${P}alpha_db`, 'SELECT who, super FROM public.evidence');
      expect(ran.length).toBeGreaterThan(0);
      expect(ran.every((r) => r.super === false && r.who === `carve_${P}alpha`)).toBe(true);
      // Between batches the applier looks again, finds it and stops.
      stopped = await engine.done.then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      await engine.stop().catch(() => {});
    }
    await assertGainedNothing();
    expect(stopped).toMatchObject({
      code: 'TARGET_FOREIGN_OBJECT',
      details: {
        objects: [expect.objectContaining({ table: 'public.accounts', kind: 'trigger', name: 't_late' })],
      },
    });
  });

  it('verify refuses a table the service replaced by a view calling its function', async () => {
    await asAttacker(`
      ALTER TABLE public.codes RENAME TO codes_real;
      CREATE VIEW public.codes AS SELECT * FROM public.codes_real WHERE public.escalate_bool();`);
    cleanups.push(
      'DROP VIEW IF EXISTS public.codes; ALTER TABLE IF EXISTS public.codes_real RENAME TO codes',
    );
    const error = await verify({ routing: m.routing, alignment: 'assume-static' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await assertGainedNothing();
    expect(error).toMatchObject({
      code: 'TARGET_FOREIGN_OBJECT',
      details: { objects: [expect.objectContaining({ table: 'public.codes', kind: 'view' })] },
    });
  });
});

describe('copy into a database the service prepared', () => {
  it('a plain trigger created between provision and copy', async () => {
    const p = 'c_';
    const copyMigration = await prepareMigration(clusters, {
      name: 'seccopy',
      monolithSql: MONOLITH,
      planBody: planBody(p),
    });
    const attacker = `${p}alpha_service`;
    await asAttacker(ESCALATE(attacker, psqlEscalation(attacker)), `${p}alpha_db`, attacker);
    await asAttacker(
      `CREATE TRIGGER t_plain BEFORE INSERT ON public.accounts
         FOR EACH ROW EXECUTE FUNCTION public.escalate_trigger()`,
      `${p}alpha_db`,
      attacker,
    );
    const error = await runCopy(copyMigration.routing).then(
      () => undefined,
      (e: unknown) => e,
    );
    await assertGainedNothing(attacker, `${p}alpha_db`, `${p}beta_db`);
    expect(error).toMatchObject({
      code: 'TARGET_FOREIGN_OBJECT',
      details: {
        database: `${p}alpha_db`,
        objects: [expect.objectContaining({ table: 'public.accounts', kind: 'trigger', name: 't_plain' })],
      },
    });
    await asAdmin('postgres', `ALTER ROLE ${attacker} NOSUPERUSER`);
  });
});
