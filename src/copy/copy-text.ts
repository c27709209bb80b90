/**
 * Rows of a `COPY … TO STDOUT (FORMAT text)` stream as the text values PostgreSQL's output
 * functions print — the same strings pgoutput sends for a streamed change, so a snapshot read and a
 * change event of the same row encode alike. Chunks may cut a row anywhere (even inside a UTF-8
 * character): the tail is kept until its newline arrives. A newline inside a value is escaped
 * (`\n`), so a raw newline always ends a row.
 */
export class CopyTextRows {
  private tail: Buffer | null = null;

  /** Rows completed by this chunk, each its values in read order (null for `\N`). */
  push(chunk: Buffer): (string | null)[][] {
    const data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const rows: (string | null)[][] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      rows.push(parseLine(data.toString('utf8', start, nl)));
      start = nl + 1;
    }
    this.tail = start < data.length ? data.subarray(start) : null;
    return rows;
  }

  /** True when the stream ended on a row boundary (it always does for a complete COPY). */
  get complete(): boolean {
    return this.tail === null;
  }
}

function parseLine(line: string): (string | null)[] {
  const fields = line.split('\t');
  return fields.map((f) => (f === '\\N' ? null : f.includes('\\') ? unescape(f) : f));
}

const SIMPLE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** COPY text escapes: `\b \f \n \r \t \v`, octal `\ooo`, hex `\xhh`, any other character as itself. */
function unescape(field: string): string {
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c !== '\\' || i + 1 >= field.length) {
      out += c;
      continue;
    }
    const next = field[++i]!;
    if (SIMPLE[next] !== undefined) out += SIMPLE[next];
    else if (next >= '0' && next <= '7') {
      let digits = next;
      while (digits.length < 3 && field[i + 1] !== undefined && field[i + 1]! >= '0' && field[i + 1]! <= '7')
        digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 8));
    } else if (next === 'x' && /^[0-9a-fA-F]/.test(field[i + 1] ?? '')) {
      let digits = field[++i]!;
      if (/^[0-9a-fA-F]/.test(field[i + 1] ?? '')) digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 16));
    } else out += next;
  }
  return out;
}
