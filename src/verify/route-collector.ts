import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { RouteShape } from './route-shape.js';
import type { MismatchedRow, TableVerifyResult } from './events.js';

export type RepairPart = 'delete' | 'update' | 'insert';

/**
 * Repair statements kept on disk while a verify runs (one file per route and kind), so that a
 * table with millions of differences does not hold them in memory; assembled at the end in
 * foreign-key-safe order (deletes children first, inserts parents first).
 */
export class RepairSpool {
  private readonly streams = new Map<string, WriteStream>();
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  file(routeIndex: number, part: RepairPart): string {
    return join(this.dir, `${routeIndex}-${part}.sql`);
  }

  async append(routeIndex: number, part: RepairPart, statement: string): Promise<void> {
    const path = this.file(routeIndex, part);
    let stream = this.streams.get(path);
    if (!stream) this.streams.set(path, (stream = createWriteStream(path, { flags: 'a' })));
    if (!stream.write(`${statement}\n`))
      await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }

  has(routeIndex: number, part: RepairPart): boolean {
    return this.streams.has(this.file(routeIndex, part));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => new Promise((resolve) => s.end(resolve))));
  }
}

/** Everything found for one route across its segments: counts, the first N keys, repair statements. */
export class RouteCollector {
  missing = 0;
  extra = 0;
  different = 0;
  sourceRows = 0;
  targetRows = 0;
  segments = 0;
  segmentsDone = 0;
  resumedSegments = 0;
  readonly mismatches: MismatchedRow[] = [];
  truncated = 0;
  /** Wall time from the start of its first segment to the end of its last. */
  private started: number | undefined;
  private finished: number | undefined;

  constructor(
    readonly shape: RouteShape,
    readonly index: number,
    private readonly maxKeys: number,
    private readonly spool: RepairSpool | undefined,
  ) {}

  segmentStarted(): void {
    this.started ??= Date.now();
  }

  segmentFinished(): void {
    this.finished = Date.now();
  }

  get wantsRepair(): boolean {
    return this.spool !== undefined;
  }

  async add(row: MismatchedRow, repair?: { part: RepairPart; statement: string }): Promise<void> {
    this[row.kind]++;
    if (this.mismatches.length < this.maxKeys) this.mismatches.push(row);
    else this.truncated++;
    if (repair && this.spool) await this.spool.append(this.index, repair.part, repair.statement);
  }

  result(kind: 'owned' | 'projection'): TableVerifyResult {
    const order = { missing: 0, extra: 1, different: 2 } as const;
    const mismatches = [...this.mismatches].sort((a, b) => order[a.kind] - order[b.kind]);
    const differs = this.missing + this.extra + this.different > 0 || this.sourceRows !== this.targetRows;
    return {
      routeId: this.shape.routeId,
      kind,
      database: this.shape.database,
      source: this.shape.source,
      target: this.shape.target,
      status: differs ? 'differs' : 'ok',
      sourceRows: this.sourceRows,
      targetRows: this.targetRows,
      missing: this.missing,
      extra: this.extra,
      different: this.different,
      mismatches,
      truncated: this.truncated,
      segments: this.segments,
      resumedSegments: this.resumedSegments,
      method: this.shape.keyClass,
      seconds: this.started === undefined ? 0 : ((this.finished ?? Date.now()) - this.started) / 1000,
    };
  }
}
