import type { TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { formatLsn, parseLsn, parseLsnOrNull, type Lsn } from '../pg/lsn.js';
import { quoteQualified } from '../pg/quote.js';

/**
 * What cutover and rollback record, where it must survive a kill -9:
 *
 * - on the monolith, `<state>.freezes`: one row per frozen monolith table, written in the freeze's
 *   transaction (src/state/monolith-schema.ts);
 * - in the service database, `<state>.cutovers`: the journal. Its row is written once the service's
 *   tables are drained, verified and their sequences moved: that insert is the point of no return.
 *   Rerunning cutover finishes the steps the row does not list; rollback moves it to rolling-back
 *   and rolled-back. `<state>.freezes` there lists the service's tables a rollback froze.
 */

export type JournalPhase = 'cut-over' | 'rolling-back' | 'rolled-back' | 'completed';

export interface Journal {
  service: string;
  phase: JournalPhase;
  steps: string[];
  drainLsn: Lsn;
  freezeStartedAt: string;
  committedAt: string;
  switchedAt: string | null;
  reverse: { slot: string; publication: string; startLsn: Lsn } | null;
  rollbackLsn: Lsn | null;
  rollbackStartedAt: string | null;
  rolledBackAt: string | null;
  completedAt: string | null;
}

export interface MonolithFreeze {
  service: string;
  database: string;
  table: TableRef;
  frozenAt: string;
  drainLsn: Lsn;
}

export class CutoverJournal {
  constructor(
    private readonly schema: string,
    private readonly migration: string,
  ) {}

  private t(name: string): string {
    return quoteQualified(this.schema, name);
  }

  async read(client: Client, service: string): Promise<Journal | null> {
    const { rows } = await client.query(
      `SELECT service, phase, steps, drain_lsn::text AS drain_lsn, freeze_started_at::text AS freeze_started_at,
              committed_at::text AS committed_at, switched_at::text AS switched_at, reverse_slot,
              reverse_publication, reverse_start_lsn::text AS reverse_start_lsn, rollback_lsn::text AS rollback_lsn,
              rollback_started_at::text AS rollback_started_at, rolled_back_at::text AS rolled_back_at,
              completed_at::text AS completed_at
         FROM ${this.t('cutovers')} WHERE migration = $1 AND service = $2`,
      [this.migration, service],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      service: r.service,
      phase: r.phase,
      steps: r.steps,
      drainLsn: parseLsn(r.drain_lsn),
      freezeStartedAt: r.freeze_started_at,
      committedAt: r.committed_at,
      switchedAt: r.switched_at,
      reverse:
        r.reverse_slot === null
          ? null
          : {
              slot: r.reverse_slot,
              publication: r.reverse_publication,
              startLsn: parseLsn(r.reverse_start_lsn),
            },
      rollbackLsn: parseLsnOrNull(r.rollback_lsn),
      rollbackStartedAt: r.rollback_started_at,
      rolledBackAt: r.rolled_back_at,
      completedAt: r.completed_at,
    };
  }

  /**
   * The point of no return: the journal row (a second cutover after a rollback starts it afresh).
   */
  async commit(
    client: Client,
    service: string,
    drainLsn: Lsn,
    freezeStartedAt: string,
    steps: string[],
  ): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('cutovers')} (migration, service, phase, steps, drain_lsn, freeze_started_at)
       VALUES ($1, $2, 'cut-over', $3, $4, $5)
       ON CONFLICT (migration, service) DO UPDATE SET phase = 'cut-over', steps = EXCLUDED.steps,
         drain_lsn = EXCLUDED.drain_lsn, freeze_started_at = EXCLUDED.freeze_started_at, committed_at = now(),
         switched_at = NULL, reverse_slot = NULL, reverse_publication = NULL, reverse_start_lsn = NULL,
         rollback_lsn = NULL, rollback_started_at = NULL, rolled_back_at = NULL, completed_at = NULL,
         updated_at = now()`,
      [this.migration, service, steps, formatLsn(drainLsn), freezeStartedAt],
    );
  }

  async addStep(
    client: Client,
    service: string,
    step: string,
    set: Record<string, unknown> = {},
  ): Promise<void> {
    const columns = Object.keys(set);
    const assignments = columns.map((c, i) => `${c} = $${i + 4}`);
    await client.query(
      `UPDATE ${this.t('cutovers')}
          SET steps = CASE WHEN $3 = ANY (steps) THEN steps ELSE steps || $3 END,
              ${assignments.length ? `${assignments.join(', ')},` : ''} updated_at = now()
        WHERE migration = $1 AND service = $2`,
      [this.migration, service, step, ...columns.map((c) => set[c])],
    );
  }

  async setPhase(
    client: Client,
    service: string,
    phase: JournalPhase,
    set: Record<string, unknown> = {},
  ): Promise<void> {
    const columns = Object.keys(set);
    const assignments = columns.map((c, i) => `${c} = $${i + 4}`);
    await client.query(
      `UPDATE ${this.t('cutovers')} SET phase = $3, ${assignments.length ? `${assignments.join(', ')},` : ''} updated_at = now()
        WHERE migration = $1 AND service = $2`,
      [this.migration, service, phase, ...columns.map((c) => set[c])],
    );
  }

  /** Write-unavailability of the cutover: freeze start → switch done, seconds (null before the switch). */
  async windowSeconds(client: Client, service: string): Promise<number | null> {
    const { rows } = await client.query(
      `SELECT extract(epoch FROM switched_at - freeze_started_at)::float8 AS s
         FROM ${this.t('cutovers')} WHERE migration = $1 AND service = $2`,
      [this.migration, service],
    );
    return rows[0]?.s ?? null;
  }

  /** The service's tables frozen in its own database (by a rollback). */
  async serviceFreezes(client: Client, service: string): Promise<TableRef[]> {
    const { rows } = await client.query(
      `SELECT table_schema, table_name FROM ${this.t('freezes')} WHERE migration = $1 AND service = $2 ORDER BY 1, 2`,
      [this.migration, service],
    );
    return rows.map((r) => ({ schema: r.table_schema, name: r.table_name }));
  }

  async recordServiceFreeze(
    client: Client,
    service: string,
    tables: readonly TableRef[],
    lsn: Lsn,
  ): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('freezes')} (migration, service, table_schema, table_name, lsn)
       SELECT $1, $2, s, n, $5 FROM unnest($3::text[], $4::text[]) AS u(s, n)
       ON CONFLICT (migration, table_schema, table_name) DO UPDATE SET lsn = EXCLUDED.lsn`,
      [this.migration, service, tables.map((t) => t.schema), tables.map((t) => t.name), formatLsn(lsn)],
    );
  }

  async forgetServiceFreeze(client: Client, service: string): Promise<void> {
    await client.query(`DELETE FROM ${this.t('freezes')} WHERE migration = $1 AND service = $2`, [
      this.migration,
      service,
    ]);
  }
}

/** The monolith's freeze records (`<state>.freezes` there, src/state/monolith-schema.ts). */
export class MonolithFreezes {
  constructor(
    private readonly schema: string,
    private readonly migration: string,
  ) {}

  private get table(): string {
    return quoteQualified(this.schema, 'freezes');
  }

  /** Every freeze of the migration, or of one service; empty when carve's schema is not there. */
  async read(client: Client, service?: string): Promise<MonolithFreeze[]> {
    const { rows: present } = await client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present', [
      this.table,
    ]);
    if (!present[0].present) return [];
    const { rows } = await client.query(
      `SELECT service, database, table_schema, table_name, frozen_at::text AS frozen_at, drain_lsn::text AS drain_lsn
         FROM ${this.table} WHERE migration = $1 AND ($2::text IS NULL OR service = $2) ORDER BY 1, 3, 4`,
      [this.migration, service ?? null],
    );
    return rows.map((r) => ({
      service: r.service,
      database: r.database,
      table: { schema: r.table_schema, name: r.table_name },
      frozenAt: r.frozen_at,
      drainLsn: parseLsn(r.drain_lsn),
    }));
  }

  async record(
    client: Client,
    service: string,
    database: string,
    tables: readonly TableRef[],
    drainLsn: Lsn,
  ): Promise<void> {
    await client.query(
      `INSERT INTO ${this.table} (migration, service, database, table_schema, table_name, drain_lsn)
       SELECT $1, $2, $3, s, n, $6 FROM unnest($4::text[], $5::text[]) AS u(s, n)
       ON CONFLICT (migration, table_schema, table_name) DO UPDATE SET drain_lsn = EXCLUDED.drain_lsn`,
      [
        this.migration,
        service,
        database,
        tables.map((t) => t.schema),
        tables.map((t) => t.name),
        formatLsn(drainLsn),
      ],
    );
  }

  async forget(client: Client, service: string): Promise<void> {
    await client.query(`DELETE FROM ${this.table} WHERE migration = $1 AND service = $2`, [
      this.migration,
      service,
    ]);
  }
}
