import type { TableRef } from '../catalog/model.js';
import type { PlannedChunk } from '../state/copy-log.js';

/** What the planner needs to know about one relation, read under the copy snapshot. */
export interface RelationStats {
  relation: TableRef;
  /** Heap plus TOAST bytes: what a full read costs. */
  bytes: number;
  /** Heap blocks, for block-range (ctid) chunks. */
  pages: number;
  /** A single-column integer key, with its range under the snapshot (null when the table is empty). */
  integerKey?: { column: string; min: string | null; max: string | null };
}

export interface ChunkPlanOptions {
  /** Target bytes per chunk. */
  chunkBytes: number;
  /** Workers: a relation bigger than `minSplitBytes` gets at least this many chunks. */
  jobs: number;
  minSplitBytes?: number;
  /**
   * Split relations without an integer key into heap block ranges (default true). Off for tables
   * whose rows are published as snapshot reads: block ranges do not partition the rows the same way
   * under two snapshots (an update moves a row), so chunks published before a crash and chunks read
   * after it could hold a row twice or not at all. Key ranges do partition them the same way.
   */
  blockRanges?: boolean;
}

/**
 * Split relations into chunks: integer-key ranges where the key is a single integer column,
 * otherwise heap block ranges (`ctid`, served by a TID range scan). The first chunk has no lower
 * bound and the last no upper bound, so rows outside the range seen at planning time (a stale max,
 * new blocks) are still copied exactly once.
 */
export function planChunks(relations: RelationStats[], options: ChunkPlanOptions): PlannedChunk[] {
  const chunks: PlannedChunk[] = [];
  const minSplit = options.minSplitBytes ?? 32 * 1024 * 1024;
  for (const stats of relations) {
    let count = Math.ceil(stats.bytes / Math.max(1, options.chunkBytes));
    if (stats.bytes > minSplit) count = Math.max(count, options.jobs);
    const push = (
      method: PlannedChunk['method'],
      lower: string | null,
      upper: string | null,
      bytes: number,
    ) =>
      chunks.push({
        chunkNo: chunks.length,
        source: stats.relation,
        method,
        lower,
        upper,
        estimatedBytes: bytes,
      });

    const key = stats.integerKey;
    if (!key && options.blockRanges === false) count = 1;
    if (count <= 1 || (key && (key.min === null || key.max === null))) {
      push('all', null, null, stats.bytes);
    } else if (key && key.min !== null && key.max !== null) {
      const min = BigInt(key.min);
      const span = BigInt(key.max) - min + 1n;
      const n = span < BigInt(count) ? Number(span) : count;
      if (n <= 1) {
        push('all', null, null, stats.bytes);
        continue;
      }
      const step = (span + BigInt(n) - 1n) / BigInt(n);
      for (let i = 0; i < n; i++) {
        const lower = i === 0 ? null : String(min + step * BigInt(i));
        const upper = i === n - 1 ? null : String(min + step * BigInt(i + 1));
        push('key', lower, upper, stats.bytes / n);
      }
    } else {
      const pages = Math.max(1, stats.pages);
      const n = Math.min(count, pages);
      if (n <= 1) {
        push('all', null, null, stats.bytes);
        continue;
      }
      const step = Math.ceil(pages / n);
      for (let i = 0; i < n; i++) {
        const lower = i === 0 ? null : String(step * i);
        const upper = i === n - 1 ? null : String(step * (i + 1));
        push('ctid', lower, upper, stats.bytes / n);
      }
    }
  }
  return chunks;
}
