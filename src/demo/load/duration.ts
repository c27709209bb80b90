import { CarveError } from '../../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "5m", "1h", "1m30s" or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new CarveError('USAGE', `Cannot read ${JSON.stringify(text)} as a duration`, {
      details: { value: text },
      hint: 'Use e.g. 30s, 5m, 1h30m, 500ms, or a number of seconds.',
    });
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  if (!(ms > 0)) {
    throw new CarveError('USAGE', `Duration ${JSON.stringify(text)} must be positive`, {
      details: { value: text },
    });
  }
  return ms;
}
