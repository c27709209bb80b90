/**
 * The time span the CareSync data covers. Fixed (not "now"-relative) so that the same seed gives
 * the same bytes on any day, and so that analytics_data's monthly partitions cover every row.
 */

/** Clinical activity (consultations, orders, claims …) falls in [start, end). */
export const CARESYNC_ACTIVITY_START = '2019-01-01 00:00:00+00';
export const CARESYNC_ACTIVITY_END = '2025-01-01 00:00:00+00';

/** analytics_data holds two years, one partition per month; older rows land in the DEFAULT one. */
export const ANALYTICS_FIRST_MONTH = { year: 2023, month: 1 };
export const ANALYTICS_MONTHS = 24;

/** Seconds since 1970 of a `YYYY-MM-DD hh:mm:ss+00` timestamp. */
export function epochSeconds(timestamp: string): number {
  return Math.floor(Date.parse(timestamp.replace(' ', 'T').replace('+00', 'Z')) / 1000);
}

export interface AnalyticsPartition {
  name: string;
  /** Inclusive lower bound, `YYYY-MM-01 00:00:00+00`; undefined for the DEFAULT partition. */
  from?: string;
  /** Exclusive upper bound. */
  to?: string;
}

function monthStart(index: number): string {
  const total = ANALYTICS_FIRST_MONTH.year * 12 + (ANALYTICS_FIRST_MONTH.month - 1) + index;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  return `${year}-${String(month).padStart(2, '0')}-01 00:00:00+00`;
}

/** The monthly partitions of analytics_data in order, then the DEFAULT partition. */
export function analyticsPartitions(): AnalyticsPartition[] {
  const months: AnalyticsPartition[] = [];
  for (let i = 0; i < ANALYTICS_MONTHS; i++) {
    const from = monthStart(i);
    months.push({
      name: `analytics_data_${from.slice(0, 4)}_${from.slice(5, 7)}`,
      from,
      to: monthStart(i + 1),
    });
  }
  months.push({ name: 'analytics_data_default' });
  return months;
}

export function analyticsRange(): { from: string; to: string } {
  return { from: monthStart(0), to: monthStart(ANALYTICS_MONTHS) };
}
