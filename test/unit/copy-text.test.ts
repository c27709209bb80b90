import { describe, expect, it } from 'vitest';
import { CopyTextRows } from '../../src/copy/copy-text.js';

describe('COPY text rows', () => {
  it('splits rows and fields, unescapes values, and keeps a row cut between chunks (even mid-character)', () => {
    const text = 'a\t\\N\tx\\ty\\\\z\\nw\n2\tn\u00e9\t\\b\\f\\r\\v\n';
    const bytes = Buffer.from(text, 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of é
    const rows = new CopyTextRows();
    const first = rows.push(bytes.subarray(0, cut));
    expect(first).toEqual([['a', null, 'x\ty\\z\nw']]);
    expect(rows.complete).toBe(false);
    expect(rows.push(bytes.subarray(cut))).toEqual([['2', 'n\u00e9', '\b\f\r\v']]);
    expect(rows.complete).toBe(true);
  });

  it('keeps an empty string apart from NULL', () => {
    expect(new CopyTextRows().push(Buffer.from('\t\\N\n'))).toEqual([['', null]]);
  });
});
