import { describe, expect, it } from 'vitest';
import { planChunks } from '../../src/copy/chunk-planner.js';

const MB = 1024 * 1024;
const rel = { schema: 'public', name: 't' };

describe('chunk planner', () => {
  it('copies a small table in one piece', () => {
    const chunks = planChunks(
      [{ relation: rel, bytes: MB, pages: 128, integerKey: { column: 'id', min: '1', max: '900' } }],
      {
        chunkBytes: 64 * MB,
        jobs: 2,
      },
    );
    expect(chunks).toEqual([
      { chunkNo: 0, source: rel, method: 'all', lower: null, upper: null, estimatedBytes: MB },
    ]);
  });

  it('splits an integer key into contiguous ranges, open at both ends', () => {
    const chunks = planChunks(
      [
        {
          relation: rel,
          bytes: 400 * MB,
          pages: 51200,
          integerKey: { column: 'id', min: '-5', max: '1000000' },
        },
      ],
      { chunkBytes: 100 * MB, jobs: 2 },
    );
    expect(chunks.map((c) => c.method)).toEqual(['key', 'key', 'key', 'key']);
    expect(chunks[0]!.lower).toBeNull();
    expect(chunks.at(-1)!.upper).toBeNull();
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.lower).toBe(chunks[i - 1]!.upper);
    expect(chunks.map((c) => c.chunkNo)).toEqual([0, 1, 2, 3]);
  });

  it('handles keys beyond 2^53 exactly', () => {
    const chunks = planChunks(
      [
        {
          relation: rel,
          bytes: 200 * MB,
          pages: 1000,
          integerKey: { column: 'id', min: '9007199254740993', max: '9007199254741993' },
        },
      ],
      { chunkBytes: 100 * MB, jobs: 1 },
    );
    expect(chunks.map((c) => [c.lower, c.upper])).toEqual([
      [null, '9007199254741494'],
      ['9007199254741494', null],
    ]);
  });

  it('gives a big table at least one chunk per job, and never more chunks than keys', () => {
    expect(
      planChunks([{ relation: rel, bytes: 40 * MB, pages: 5000 }], { chunkBytes: 1024 * MB, jobs: 4 }),
    ).toHaveLength(4);
    const few = planChunks(
      [{ relation: rel, bytes: 400 * MB, pages: 5000, integerKey: { column: 'id', min: '1', max: '2' } }],
      {
        chunkBytes: MB,
        jobs: 4,
      },
    );
    expect(few.map((c) => [c.lower, c.upper])).toEqual([
      [null, '2'],
      ['2', null],
    ]);
  });

  it('falls back to block ranges without an integer key, and copies an empty table whole', () => {
    const chunks = planChunks([{ relation: rel, bytes: 300 * MB, pages: 38400 }], {
      chunkBytes: 100 * MB,
      jobs: 2,
    });
    expect(chunks.map((c) => [c.method, c.lower, c.upper])).toEqual([
      ['ctid', null, '12800'],
      ['ctid', '12800', '25600'],
      ['ctid', '25600', null],
    ]);
    const empty = planChunks(
      [{ relation: rel, bytes: 300 * MB, pages: 0, integerKey: { column: 'id', min: null, max: null } }],
      {
        chunkBytes: MB,
        jobs: 2,
      },
    );
    expect(empty.map((c) => c.method)).toEqual(['all']);
  });

  it('keeps a table without an integer key whole when its rows are published (blockRanges: false)', () => {
    const stats = { relation: rel, bytes: 300 * MB, pages: 38400 };
    const whole = planChunks([stats], { chunkBytes: 100 * MB, jobs: 2, blockRanges: false });
    expect(whole.map((c) => [c.method, c.lower, c.upper])).toEqual([['all', null, null]]);
    // Key ranges partition the rows alike under any snapshot: still split.
    const keyed = planChunks([{ ...stats, integerKey: { column: 'id', min: '1', max: '300' } }], {
      chunkBytes: 100 * MB,
      jobs: 2,
      blockRanges: false,
    });
    expect(keyed.map((c) => c.method)).toEqual(['key', 'key', 'key']);
  });

  it('numbers chunks across the partitions of one route', () => {
    const p1 = { schema: 'public', name: 'p1' };
    const p2 = { schema: 'public', name: 'p2' };
    const chunks = planChunks(
      [
        { relation: p1, bytes: MB, pages: 10 },
        { relation: p2, bytes: 200 * MB, pages: 2000 },
      ],
      { chunkBytes: 100 * MB, jobs: 1 },
    );
    expect(chunks.map((c) => [c.chunkNo, c.source.name, c.method])).toEqual([
      [0, 'p1', 'all'],
      [1, 'p2', 'ctid'],
      [2, 'p2', 'ctid'],
    ]);
  });
});
