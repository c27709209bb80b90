import { analyticsRange, epochSeconds } from '../date-range.js';
import type { TxContext } from './tx-context.js';

/** Operations on the partitioned analytics_data (monthly partitions and a DEFAULT one). */

const DAY = 86_400;
const METRICS = ['bed_occupancy', 'er_wait_minutes', 'admissions', 'discharges', 'lab_turnaround_hours'];

/**
 * A batch of measurements arrives (spread over the monthly partitions, now and then one older than
 * them, which lands in the DEFAULT partition); one earlier measurement is corrected — sometimes
 * refiled under another date, which moves it to another partition — and one is purged.
 */
export async function analyticsIngest(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const range = analyticsRange();
  const from = epochSeconds(range.from);
  const span = epochSeconds(range.to) - from;
  for (let i = rng.int(1, 3); i > 0; i--) {
    const staff = rng.pick(ref.nurses);
    const at = rng.chance(0.05) ? from - rng.int(1, 365 * DAY) : from + rng.int(0, span - 1);
    const [row] = await tx.write<{ id: string }>(
      'inserted',
      'analytics_data',
      `INSERT INTO public.analytics_data (recorded_at, hospital_id, department_id, metric, value, dimensions)
       VALUES (to_timestamp($1::bigint), $2, $3, $4, $5, jsonb_build_object('shift', $6::text, 'source', 'load', 'version', 2))
       RETURNING id`,
      [
        at,
        staff.hospitalId,
        staff.departmentId,
        rng.pick(METRICS),
        rng.int(0, 100_000) / 100,
        rng.pick(['day', 'evening', 'night']),
      ],
    );
    tx.noteInserted('analytics_data', Number(row!.id));
  }
  const fix = await tx.pick<{ id: string; recorded_at: string }>('analytics_data', 'id, recorded_at::text', {
    lock: true,
  });
  if (fix) {
    const refile = rng.chance(0.3);
    await tx.write(
      'updated',
      'analytics_data',
      `UPDATE public.analytics_data
          SET value = $3, recorded_at = recorded_at + make_interval(days => $4),
              dimensions = dimensions || jsonb_build_object('corrected', true)
        WHERE id = $1 AND recorded_at = $2::timestamptz`,
      [fix.id, fix.recorded_at, rng.int(0, 100_000) / 100, refile ? rng.int(-90, 90) : 0],
    );
  }
  const purge = await tx.pick<{ id: string; recorded_at: string }>(
    'analytics_data',
    'id, recorded_at::text',
    {
      lock: true,
    },
  );
  if (purge) {
    await tx.write(
      'deleted',
      'analytics_data',
      `DELETE FROM public.analytics_data WHERE id = $1 AND recorded_at = $2::timestamptz`,
      [purge.id, purge.recorded_at],
    );
  }
}
