import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { createRowProjector } from '../../src/copy/row-projector.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function binaryCopy(rows: (string | null)[][], extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(0, 0);
  header.writeInt32BE(extension.length, 4);
  const parts: Buffer[] = [SIGNATURE, header, extension];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const value of row) {
      const length = Buffer.alloc(4);
      if (value === null) {
        length.writeInt32BE(-1);
        parts.push(length);
      } else {
        const bytes = Buffer.from(value, 'utf8');
        length.writeInt32BE(bytes.length);
        parts.push(length, bytes);
      }
    }
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  parts.push(trailer);
  return Buffer.concat(parts);
}

async function project(
  format: 'binary' | 'text',
  input: Buffer,
  fields: number[],
  splitAt: number[],
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const at of [...splitAt, input.length]) {
    pieces.push(input.subarray(start, at));
    start = at;
  }
  return buffer(Readable.from(pieces).pipe(createRowProjector(format, fields)));
}

describe('row projector', () => {
  const rows = [
    ['1', 'Ada', 'Lovelace', null],
    ['2', 'Grace', '', 'x'.repeat(300)],
    ['3', 'Zoë ✓', 'tab\tin value?', 'end'],
  ];

  it('keeps chosen binary fields in the chosen order, split at every byte boundary', async () => {
    const input = binaryCopy(rows, Buffer.from('ext'));
    const expected = binaryCopy(
      rows.map((r) => [r[2]!, r[0]!, r[3]!]),
      Buffer.from('ext'),
    );
    expect(await project('binary', input, [2, 0, 3], [])).toEqual(expected);
    for (let at = 1; at < input.length; at++) {
      expect(await project('binary', input, [2, 0, 3], [at])).toEqual(expected);
    }
    // and byte by byte
    expect(
      await project(
        'binary',
        input,
        [2, 0, 3],
        Array.from({ length: input.length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(expected);
  });

  it('rejects a stream that is not binary COPY, or that ends inside a row', async () => {
    await expect(project('binary', Buffer.from('x'.repeat(40)), [0], [])).rejects.toThrow(
      /not a binary COPY/,
    );
    const input = binaryCopy(rows);
    await expect(project('binary', input.subarray(0, input.length - 7), [0], [])).rejects.toThrow(
      /inside a row/,
    );
  });

  it('projects text-format rows, with multi-byte characters split across chunks', async () => {
    const text = Buffer.from('1\tZoë ✓\tA\\tB\n2\t\\N\tC\n', 'utf8');
    const expected = Buffer.from('A\\tB\t1\nC\t2\n', 'utf8');
    for (let at = 1; at < text.length; at++) {
      expect((await project('text', text, [2, 0], [at])).toString('utf8')).toBe(expected.toString('utf8'));
    }
  });
});
