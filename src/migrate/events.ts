import type { CopyEvent, CopyResult } from '../copy/events.js';
import type { ProvisionEvent } from '../provision/events.js';
import type { SyncEvent, TargetLag } from '../sync/events.js';
import type { VerifyEvent, VerifyResult } from '../verify/events.js';
import type { MigrationPhase } from './status.js';

export type MigrateStep = 'plan' | 'provision' | 'copy' | 'sync' | 'verify' | 'follow';

export interface MigrateReport {
  migration: string;
  /** Everything copied, streamed and verified, with no difference and no new orphan. */
  ok: boolean;
  /** The state found at start, when an earlier run had done part of the work. */
  resumedFrom: MigrationPhase | null;
  steps: { step: MigrateStep; seconds: number }[];
  copy: CopyResult | null;
  sync: {
    /** Changes and transactions applied by this run's sync, per target and in all. */
    changes: number;
    transactions: number;
    targets: TargetLag[];
  } | null;
  verify: VerifyResult | null;
  seconds: number;
  /** Peak resident memory of this process, bytes. */
  peakRssBytes: number;
}

export type MigrateEvent =
  | { type: 'migrate-started'; migration: string; resumedFrom: MigrationPhase | null; description: string }
  | { type: 'step-started'; step: MigrateStep }
  | { type: 'step-done'; step: MigrateStep; seconds: number }
  | { type: 'provision'; event: ProvisionEvent }
  | { type: 'copy'; event: CopyEvent }
  | { type: 'sync'; event: SyncEvent }
  | { type: 'verify'; event: VerifyEvent }
  | { type: 'migrate-finished'; report: MigrateReport };
