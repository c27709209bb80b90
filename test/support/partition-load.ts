import { connect } from '../../src/pg/connect.js';

/**
 * A write load on the edge-case schema's partitioned table public.events (test/fixtures/
 * edge-case-schema.ts) and on event_notes, which references it: every transaction inserts into
 * events_2024, the sub-partitioned events_2025 and the DEFAULT leaf, adds a note, updates rows in
 * place, moves rows across partitions and across sub-partitions (UPDATE of the partition key) and
 * deletes some (their notes go by cascade). Keys never collide across workers
 * or rounds. Only valid rows are written, so the monolith's partition-level keys hold throughout.
 */
export interface PartitionLoad {
  /** Stop, wait for the transactions in flight, and return how many committed. */
  stop(): Promise<number>;
  /** Committed transactions so far; throws the first failure of a worker. */
  readonly committed: number;
}

let rounds = 0;

export function startPartitionLoad(url: string, options: { workers?: number } = {}): PartitionLoad {
  const round = ++rounds;
  let stopping = false;
  let committed = 0;
  const failures: unknown[] = [];
  const worker = async (w: number) => {
    const c = await connect(url, { applicationName: 'partition load' });
    try {
      for (let n = 1; !stopping; n++) {
        const base = 1_000_000 + round * 100_000_000 + w * 10_000_000 + n * 10;
        const prev = base - 10;
        const note = round * 1_000_000 + w * 100_000 + n;
        await c.query('BEGIN');
        await c.query(
          `INSERT INTO public.events (id, recorded_at, kind, data, category_id, document_id) VALUES
             ($1, timestamptz '2024-01-01 00:00:00+00' + make_interval(mins => $2), 'load', jsonb_build_object('n', $2::int), 1 + $2::int % 3, NULL),
             ($1 + 1, timestamptz '2025-01-01 00:00:00+00' + make_interval(mins => $2), 'click', NULL, NULL,
               (SELECT id FROM public.documents ORDER BY id OFFSET $2::int % 2 LIMIT 1)),
             ($1 + 2, timestamptz '2025-01-01 00:00:00+00' + make_interval(mins => $2), 'view', NULL, NULL, NULL),
             ($1 + 3, timestamptz '2031-01-01 00:00:00+00' + make_interval(mins => $2), 'late', '{}', NULL, NULL)`,
          [base, n],
        );
        await c.query(
          `INSERT INTO public.event_notes (id, event_id, recorded_at, note)
             SELECT $1::int, id, recorded_at, 'note ' || $1::int FROM public.events WHERE id = $2::bigint`,
          [note, base],
        );
        if (n > 1) {
          // In place, across leaves of the range level, and across the sub-partitioned level.
          await c.query(`UPDATE public.events SET data = jsonb_build_object('u', $2::int) WHERE id = $1`, [
            prev,
            n,
          ]);
          await c.query(
            `UPDATE public.events SET recorded_at = recorded_at + interval '7 years', kind = 'moved', data = '{}' WHERE id = $1`,
            [prev + 2],
          );
          await c.query(
            `UPDATE public.events SET recorded_at = recorded_at + interval '6 months', kind = 'later' WHERE id = $1`,
            [prev + 1],
          );
        }
        if (n % 3 === 0) {
          await c.query(`DELETE FROM public.events WHERE id IN ($1, $2)`, [prev - 10, prev - 7]);
        }
        await c.query('COMMIT');
        committed++;
      }
    } catch (error) {
      await c.query('ROLLBACK').catch(() => {});
      failures.push(error);
    } finally {
      await c.end().catch(() => {});
    }
  };
  const workers = Array.from({ length: options.workers ?? 2 }, (_, i) => worker(i + 1));
  return {
    get committed() {
      if (failures.length) throw failures[0];
      return committed;
    },
    async stop() {
      stopping = true;
      await Promise.all(workers);
      if (failures.length) throw failures[0];
      return committed;
    },
  };
}
