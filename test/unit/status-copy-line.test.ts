import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/cli/status.js';
import type { CopyProgress, MigrationStatus } from '../../src/migrate/status.js';

/** carve status's copy line: a percentage while copying; a finished copy's exact count alone. */
function status(copy: Partial<CopyProgress>): MigrationStatus {
  return {
    migration: 'm',
    phase: copy.finished ? 'streaming' : 'copying',
    missing: { databases: [], tables: [] },
    copy: {
      routes: [],
      chunks: 85,
      chunksDone: 85,
      chunksFailed: 0,
      rowsCopied: 88_327,
      estimatedRows: 115_300,
      rowsPerSecond: 0,
      etaSeconds: null,
      finished: true,
      catchUpError: null,
      failures: [],
      ...copy,
    } as CopyProgress,
    sync: null,
    verify: null,
    slot: null,
    alerts: [],
  };
}

describe('carve status: copy line', () => {
  it('a complete copy shows no percentage of the grown monolith estimate', () => {
    const text = renderStatus(status({}));
    expect(text).toContain('copy: complete, 85/85 chunks, 88,327 rows\n');
    expect(text).not.toMatch(/\d%\)/);
  });

  it('a copy in progress shows its share of the estimate', () => {
    const text = renderStatus(status({ finished: false, chunksDone: 40, rowsCopied: 57_650 }));
    expect(text).toContain('copy: in progress, 40/85 chunks, 57,650 rows (50.0%)');
  });
});
