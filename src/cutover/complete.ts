import { CarveError } from '../errors.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { identifierBytes, MAX_IDENTIFIER_BYTES, quoteIdent, quoteQualified } from '../pg/quote.js';
import type { TableRef } from '../catalog/model.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { acquireCutoverLock } from './lock.js';
import type { CompleteOptions } from './options.js';
import { findService } from './preflight.js';
import { reverseApi } from './reverse-link.js';
import { CutoverJournal, MonolithFreezes } from './state.js';

export interface CompleteResult {
  service: string;
  database: string;
  alreadyDone: boolean;
  /** Monolith tables taken out of the forward publication. */
  unpublished: string[];
  /** With --rename-source-tables: old → new names. */
  renamed: { from: string; to: string }[];
}

/**
 * Retire the monolith's copy of a cut-over service: drop the reverse stream, take its tables out
 * of the forward publication and leave them frozen (or rename them `<table>_carved`). The
 * monolith stops receiving the service's writes, so rollback is no longer possible afterwards;
 * projections of those tables in other services' databases stop changing too.
 */
export async function complete(options: CompleteOptions): Promise<CompleteResult> {
  const { routing } = options;
  const service = findService(routing, options.service);
  const { stateSchema, migration, publication } = routing.names;
  const lock = await acquireCutoverLock(routing, 'complete', service.name);
  try {
    const journal = new CutoverJournal(stateSchema, migration);
    const entry = await withSession(atService(service.url), async (c) => {
      await ensureStateSchema(c, stateSchema);
      return journal.read(c, service.name);
    });
    const result: CompleteResult = {
      service: service.name,
      database: service.database,
      alreadyDone: false,
      unpublished: [],
      renamed: [],
    };
    if (entry?.phase === 'completed') return { ...result, alreadyDone: true };
    if (entry?.phase !== 'cut-over' || !entry.steps.includes('switch')) {
      throw new CarveError(
        'COMPLETE_NOT_CUT_OVER',
        `Service ${service.name} is not cut over (phase ${entry?.phase ?? 'streaming'})`,
        {
          details: { service: service.name, phase: entry?.phase ?? null, steps: entry?.steps ?? [] },
          hint: `Finish its cutover first (carve cutover --plan <file> --service ${service.name}), then complete it.`,
        },
      );
    }
    const freezes = new MonolithFreezes(stateSchema, migration);
    const frozen = await withSession(atMonolith(routing.sourceUrl), (c) => freezes.read(c, service.name));
    const renames = options.renameSourceTables
      ? frozen.map((f) => ({ table: f.table, to: `${f.table.name}_carved` }))
      : [];
    const tooLong = renames.find((r) => identifierBytes(r.to) > MAX_IDENTIFIER_BYTES);
    if (tooLong) {
      throw new CarveError(
        'COMPLETE_NAME_TOO_LONG',
        `${tooLong.to} is longer than ${MAX_IDENTIFIER_BYTES} bytes`,
        {
          details: { table: `${tooLong.table.schema}.${tooLong.table.name}`, name: tooLong.to },
          hint: 'Run carve complete without --rename-source-tables (the tables stay frozen) and rename them yourself.',
        },
      );
    }
    const api = await reverseApi();
    await api.dropReverse(routing, service.name);
    const roots: TableRef[] = service.tables.filter((r) => r.kind === 'owned').map((r) => r.source);
    await withSession(atMonolith(routing.sourceUrl), async (c) => {
      await c.query('BEGIN');
      try {
        for (const table of roots) {
          const { rows } = await c.query(
            `SELECT 1 FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
              WHERE p.pubname = $1 AND pr.prrelid = pg_catalog.to_regclass($2)`,
            [publication, quoteQualified(table.schema, table.name)],
          );
          if (!rows.length) continue;
          await c.query(
            `ALTER PUBLICATION ${quoteIdent(publication)} DROP TABLE ${quoteQualified(table.schema, table.name)}`,
          );
          result.unpublished.push(`${table.schema}.${table.name}`);
        }
        for (const r of renames) {
          const present = await c.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS p', [
            quoteQualified(r.table.schema, r.table.name),
          ]);
          if (!present.rows[0].p) continue;
          await c.query(
            `ALTER TABLE ${quoteQualified(r.table.schema, r.table.name)} RENAME TO ${quoteIdent(r.to)}`,
          );
          await c.query(
            `UPDATE ${quoteQualified(stateSchema, 'freezes')} SET table_name = $4 WHERE migration = $1 AND table_schema = $2 AND table_name = $3`,
            [migration, r.table.schema, r.table.name, r.to],
          );
          result.renamed.push({ from: `${r.table.schema}.${r.table.name}`, to: `${r.table.schema}.${r.to}` });
        }
        await c.query('COMMIT');
      } catch (error) {
        await c.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
    await withSession(atService(service.url), (c) =>
      journal.setPhase(c, service.name, 'completed', { completed_at: new Date().toISOString() }),
    );
    return result;
  } finally {
    await lock.release();
  }
}
