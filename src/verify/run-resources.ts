import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '../pg/connect.js';
import { RepairSpool } from './route-collector.js';
import type { Anchor, SnapshotPool } from './snapshot-pool.js';

/**
 * Everything a verify run opens, so that one `close()` in the entry's `finally` releases it all,
 * whichever phase failed: snapshot pools, then their anchors, then the state sessions, then the
 * repair spool and its directory.
 */
export class RunResources {
  /** carve's state session in each verified database (runs and segments are recorded there). */
  readonly stateClients = new Map<string, Client>();
  readonly pools: SnapshotPool[] = [];
  readonly anchors: Anchor[] = [];
  readonly spoolDir = join(tmpdir(), `carve-verify-${process.pid}-${randomUUID().slice(0, 8)}`);
  /** Repair statements, spooled to files while segments are compared (only with a repair file). */
  readonly spool: RepairSpool | undefined;

  constructor(withRepairFile: boolean) {
    this.spool = withRepairFile ? new RepairSpool(this.spoolDir) : undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
    await Promise.all(this.anchors.map((a) => a.close()));
    await Promise.all([...this.stateClients.values()].map((c) => c.end().catch(() => {})));
    await this.spool?.closeAll();
    rmSync(this.spoolDir, { recursive: true, force: true });
  }
}
