import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { ensureStateSchema } from '../state/state-schema.js';
import type { Segment } from './compare-segment.js';

/**
 * verify's progress, in each target database's state schema (tables verify_runs and
 * verify_segments, created by src/state/state-schema.ts with the rest of carve's state):
 *
 * - verify_runs:     one row per run: the monolith LSN it read at, when it started and finished
 * - verify_segments: the segment plan of every route of the run, and each segment's outcome
 *
 * A resumed run (`--resume`) keeps the segments an interrupted run found clean and compares the
 * others again, at a new consistent point; segments that differed are always compared again, so
 * the mismatches and the repair SQL reflect the monolith as it is now.
 */
export interface StoredSegment extends Segment {
  status: 'pending' | 'ok' | 'differs';
  sourceRows: number;
  targetRows: number;
}

export class VerifyState {
  constructor(
    readonly schema: string,
    readonly migration: string,
  ) {}

  private t(name: string): string {
    return quoteQualified(this.schema, name);
  }

  /** The state schema (with verify's tables) at the current version. */
  async ensure(client: Client): Promise<void> {
    await ensureStateSchema(client, this.schema);
  }

  async startRun(client: Client, runId: string, lsn: string): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('verify_runs')} (run_id, migration, lsn) VALUES ($1, $2, $3::pg_lsn)
       ON CONFLICT (run_id) DO UPDATE SET lsn = EXCLUDED.lsn`,
      [runId, this.migration, lsn],
    );
  }

  async latestUnfinished(client: Client): Promise<{ runId: string; startedAt: string } | undefined> {
    const { rows } = await client.query(
      `SELECT run_id, started_at::text AS started_at FROM ${this.t('verify_runs')}
        WHERE migration = $1 AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1`,
      [this.migration],
    );
    return rows[0] ? { runId: rows[0].run_id, startedAt: rows[0].started_at } : undefined;
  }

  async segments(client: Client, runId: string, routeId: string): Promise<StoredSegment[]> {
    const { rows } = await client.query(
      `SELECT segment_no, lower_bound, upper_bound, estimated_rows, status, source_rows::text, target_rows::text
         FROM ${this.t('verify_segments')} WHERE run_id = $1 AND route_id = $2 ORDER BY segment_no`,
      [runId, routeId],
    );
    return rows.map((r) => ({
      no: r.segment_no,
      lower: r.lower_bound === null ? null : BigInt(r.lower_bound),
      upper: r.upper_bound === null ? null : BigInt(r.upper_bound),
      estimatedRows: Number(r.estimated_rows),
      status: r.status,
      sourceRows: Number(r.source_rows ?? 0),
      targetRows: Number(r.target_rows ?? 0),
    }));
  }

  async planSegments(
    client: Client,
    runId: string,
    routeId: string,
    segments: readonly Segment[],
  ): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('verify_segments')} (run_id, route_id, segment_no, lower_bound, upper_bound, estimated_rows)
       SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::float8[]) ON CONFLICT DO NOTHING`,
      [
        runId,
        routeId,
        segments.map((s) => s.no),
        segments.map((s) => s.lower?.toString() ?? null),
        segments.map((s) => s.upper?.toString() ?? null),
        segments.map((s) => s.estimatedRows),
      ],
    );
  }

  async finishSegment(
    client: Client,
    runId: string,
    routeId: string,
    no: number,
    outcome: { status: 'ok' | 'differs'; sourceRows: number; targetRows: number; lsn: string },
  ): Promise<void> {
    await client.query(
      `UPDATE ${this.t('verify_segments')} SET status = $4, source_rows = $5, target_rows = $6, lsn = $7::pg_lsn, finished_at = now()
        WHERE run_id = $1 AND route_id = $2 AND segment_no = $3`,
      [runId, routeId, no, outcome.status, outcome.sourceRows, outcome.targetRows, outcome.lsn],
    );
  }

  async finishRun(client: Client, runId: string, ok: boolean): Promise<void> {
    await client.query(`UPDATE ${this.t('verify_runs')} SET finished_at = now(), ok = $2 WHERE run_id = $1`, [
      runId,
      ok,
    ]);
  }
}
