import { atMonolith, atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import {
  frozenFunctionSql,
  monolithSchemaStatements,
  monolithSchemaVersion,
} from '../state/monolith-schema.js';
import type { PlannedStep } from './events.js';
import { freezeTriggerSql, lockSql, unfreezeTriggerSql, type FrozenTable } from './freeze.js';
import { DEFAULTS, type CutoverOptions, type RollbackOptions } from './options.js';
import { ownedRouteIds } from './preflight.js';
import { frozenMonolithTables, frozenServiceTables } from './frozen-tables.js';
import { MOVE_SEQUENCE_SQL, sequencePairs } from './sequences.js';

/**
 * `--dry-run`: every step with the SQL it would run, read from the live databases (which sequences
 * exist, whether carve's schema is on the monolith) without writing anything.
 */
export async function planCutover(
  routing: Routing,
  service: ServiceRoute,
  options: CutoverOptions,
): Promise<PlannedStep[]> {
  const names = routing.names;
  const tables = frozenMonolithTables(service);
  const version = await withSession(atMonolith(routing.sourceUrl), (c) =>
    monolithSchemaVersion(c, names.stateSchema),
  );
  const gap = options.sequenceGap ?? DEFAULTS.sequenceGap;
  const pairs = await sequencePairs(service);
  const freezes = quoteQualified(names.stateSchema, 'freezes');
  const cutovers = quoteQualified(names.stateSchema, 'cutovers');
  const timeout = Math.round((options.timeoutMs ?? DEFAULTS.timeoutMs) / 1000);
  return [
    {
      step: 'pre-checks',
      description: `copy finished; slot ${names.slot} healthy; no other service cutting over or rolling back; ${service.database} within ${options.maxLagSeconds ?? DEFAULTS.maxLagSeconds} s of the monolith (a sync started here catches up first when none runs); verify of ${ownedRouteIds(service).join(', ')} clean`,
      on: 'all',
      sql: [],
    },
    {
      step: 'freeze',
      description: `freeze writes to ${tables.map((t) => `${t.table.schema}.${t.table.name}`).join(', ')} on the monolith (lock retried with backoff up to ${timeout} s)`,
      on: 'monolith',
      sql: [
        ...monolithSchemaStatements(names.stateSchema, version),
        'BEGIN',
        'SET LOCAL lock_timeout = 200',
        lockSql(tables.map((t) => t.table)),
        'SELECT pg_catalog.pg_current_wal_lsn()  -- the drain point',
        ...tables.map((t) => freezeTriggerSql(names.stateSchema, t)),
        `INSERT INTO ${freezes} (migration, service, database, table_schema, table_name, drain_lsn) VALUES … -- one row per table`,
        'COMMIT',
      ],
    },
    {
      step: 'drain',
      description: `wait (up to --timeout, ${timeout} s) until ${service.database} applied every monolith commit before the drain point; on timeout the freeze is undone`,
      on: service.database,
      sql: [
        `SELECT lsn FROM ${quoteQualified(names.stateSchema, 'apply_position')} WHERE migration = '${names.migration}'`,
      ],
    },
    {
      step: 'verify',
      description: `verify ${ownedRouteIds(service).join(', ')} at the drain point (rows, cut foreign keys)`,
      on: 'all',
      sql: [],
    },
    {
      step: 'sequences',
      description: `move every sequence of ${service.database} to at least the monolith's value (or the column's largest) + ${gap}`,
      on: service.database,
      sql: pairs.map(
        (p) =>
          `${MOVE_SEQUENCE_SQL.replaceAll(/\s+/g, ' ')}  -- $1 = ${p.targetSequence}, $2 = max(${p.sourceSequence}, max(${p.targetColumn})) + ${gap}`,
      ),
    },
    {
      step: 'journal',
      description: 'record the cutover in the journal: the point of no return',
      on: service.database,
      sql: [
        `INSERT INTO ${cutovers} (migration, service, phase, steps, drain_lsn, freeze_started_at) VALUES ('${names.migration}', '${service.name}', 'cut-over', …)`,
      ],
    },
    {
      step: 'reverse',
      description: `create the reverse stream (publication and slot on ${service.database}); a running carve sync starts applying it into the monolith`,
      on: service.database,
      sql: [],
    },
    {
      step: 'unfreeze-service',
      description: `remove a freeze an earlier rollback left on ${service.database}'s tables, if any`,
      on: service.database,
      sql: service.tables.filter((r) => r.kind === 'owned').map((r) => unfreezeTriggerSql(r.target)),
    },
    {
      step: 'switch',
      description: options.onSwitch
        ? `run: sh -c ${JSON.stringify(options.onSwitch)} with CARVE_SERVICE, CARVE_DATABASE, CARVE_DRAIN_LSN … set`
        : 'no --on-switch command: switch the application to the service database yourself',
      on: 'local',
      sql: [],
    },
  ];
}

export async function planRollback(
  routing: Routing,
  service: ServiceRoute,
  options: RollbackOptions,
): Promise<PlannedStep[]> {
  const names = routing.names;
  const serviceTables: FrozenTable[] = frozenServiceTables(service);
  const gap = options.sequenceGap ?? DEFAULTS.sequenceGap;
  const pairs = await sequencePairs(service);
  await withSession(atService(service.url), async () => undefined); // the service database answers
  return [
    {
      step: 'freeze-service',
      description: `freeze writes to ${service.database}'s tables (the freeze function is created with the admin URL, so carve's own checks trust it)`,
      on: service.database,
      sql: [
        frozenFunctionSql((o) => quoteQualified(names.stateSchema, o)),
        'BEGIN',
        'SET LOCAL lock_timeout = 200',
        lockSql(serviceTables.map((t) => t.table)),
        `SELECT pg_catalog.pg_current_wal_lsn()  -- the reverse drain point`,
        ...serviceTables.map((t) => freezeTriggerSql(names.stateSchema, t)),
        `INSERT INTO ${quoteQualified(names.stateSchema, 'freezes')} … ; UPDATE ${quoteQualified(names.stateSchema, 'cutovers')} SET phase = 'rolling-back' …`,
        'COMMIT',
      ],
    },
    {
      step: 'drain-reverse',
      description: `wait (up to --timeout) until the reverse stream applied ${service.database}'s WAL up to that point into the monolith`,
      on: 'monolith',
      sql: [],
    },
    {
      step: 'verify',
      description: `verify the monolith's copy of ${ownedRouteIds(service).join(', ')} (both sides frozen)`,
      on: 'all',
      sql: [],
    },
    {
      step: 'sequences',
      description: `move the monolith's sequences past ${service.database}'s values + ${gap}`,
      on: 'monolith',
      sql: pairs.map(
        (p) =>
          `${MOVE_SEQUENCE_SQL.replaceAll(/\s+/g, ' ')}  -- $1 = ${p.sourceSequence}, $2 = max(${p.targetSequence}, max(${p.sourceColumn})) + ${gap}`,
      ),
    },
    {
      step: 'unfreeze-monolith',
      description: "remove the freeze on the monolith: the monolith takes the service's writes again",
      on: 'monolith',
      sql: [
        'BEGIN',
        ...frozenMonolithTables(service).map((t) => unfreezeTriggerSql(t.table)),
        `DELETE FROM ${quoteQualified(names.stateSchema, 'freezes')} WHERE migration = '${names.migration}' AND service = '${service.name}'`,
        'COMMIT',
      ],
    },
    {
      step: 'drop-reverse',
      description: 'drop the reverse stream (slot and publication on the service database)',
      on: service.database,
      sql: [],
    },
    {
      step: 'journal',
      description: `mark ${service.name} rolled back (streaming); its tables stay frozen in ${service.database}, the forward stream (replica mode) passes the freeze`,
      on: service.database,
      sql: [
        `UPDATE ${quoteQualified(names.stateSchema, 'cutovers')} SET phase = 'rolled-back', rolled_back_at = now() …`,
      ],
    },
  ];
}
