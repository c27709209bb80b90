/**
 * Which type changes of a column sync applies to the service tables by itself (docs/sync.md,
 * "Schema changes"). Pure, on format_type() text.
 *
 * Only widenings: every value of the old type is a value of the new one, unchanged, so
 * - `ALTER COLUMN … TYPE` without USING cannot fail on the target's rows, and
 * - transactions committed before the change, replayed after a restart into a target that was
 *   already widened, still fit.
 * A narrowing the monolith accepted (text → varchar(64)) is not in the list: an older value, still
 * in the stream's backlog, may not fit a target that was already narrowed. It needs carve resync.
 */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return false;
  const a = parse(from);
  const b = parse(to);
  if (!a || !b) return false;
  if (a.family !== b.family) {
    if (a.family === 'int' && b.family === 'numeric') return b.args.length === 0;
    return false;
  }
  switch (a.family) {
    case 'string':
      // varchar(n) → varchar(m ≥ n) | varchar | text; varchar ↔ text (binary coercible).
      if (b.base === 'text' || (b.base === 'character varying' && b.args.length === 0)) return true;
      return a.base === 'character varying' && a.args.length === 1 && b.args[0]! > a.args[0]!;
    case 'int':
      return INT_WIDTH[b.base]! > INT_WIDTH[a.base]!;
    case 'numeric':
      if (b.args.length === 0) return true;
      if (a.args.length === 0) return false;
      // Same scale, more digits: every value keeps its text. (A new scale would pad: 1.5 → 1.50.)
      return (a.args[1] ?? 0) === (b.args[1] ?? 0) && b.args[0]! > a.args[0]!;
    case 'varbit':
      if (b.args.length === 0) return true;
      return a.args.length === 1 && b.args[0]! > a.args[0]!;
    case 'time':
      // Fractional-second precision up (values were already rounded to the smaller one).
      return a.base === b.base && (b.args.length === 0 || (a.args.length === 1 && b.args[0]! > a.args[0]!));
    default:
      return false;
  }
}

const INT_WIDTH: Record<string, number> = { smallint: 2, integer: 4, bigint: 8 };

interface ParsedType {
  family: 'string' | 'int' | 'numeric' | 'varbit' | 'time';
  base: string;
  args: number[];
}

function parse(type: string): ParsedType | undefined {
  if (type.endsWith('[]')) return undefined;
  const match = /^([a-z ]+?)(?:\((\d+)(?:,(\d+))?\))?( with(?:out)? time zone)?$/.exec(type);
  if (!match) return undefined;
  const base = `${match[1]!}${match[4] ?? ''}`;
  const args = [match[2], match[3]].filter((x): x is string => x !== undefined).map(Number);
  if (base === 'text' || base === 'character varying') return { family: 'string', base, args };
  if (base in INT_WIDTH) return { family: 'int', base, args };
  if (base === 'numeric') return { family: 'numeric', base, args };
  if (base === 'bit varying') return { family: 'varbit', base, args };
  if (/^(timestamp|time) with(out)? time zone$/.test(base)) return { family: 'time', base, args };
  return undefined;
}
