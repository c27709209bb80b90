import type { HubEvent } from '../event-hub.js';
import type { CopyEvent, CopyResult } from '../copy/events.js';
import type { ProvisionEvent } from '../provision/events.js';
import type { ReverseEvent } from '../reverse/events.js';
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

/** migrate's own events (on a hub, under 'migrate'). */
export type MigrateProgressEvent =
  | { type: 'migrate-started'; migration: string; resumedFrom: MigrationPhase | null; description: string }
  | { type: 'step-started'; step: MigrateStep }
  | { type: 'step-done'; step: MigrateStep; seconds: number }
  | { type: 'migrate-finished'; report: MigrateReport };

/** What `MigrateOptions.onEvent` receives: migrate's own events and its engines', wrapped. */
export type MigrateEvent =
  | MigrateProgressEvent
  | { type: 'provision'; event: ProvisionEvent }
  | { type: 'copy'; event: CopyEvent }
  | { type: 'sync'; event: SyncEvent }
  | { type: 'verify'; event: VerifyEvent }
  | { type: 'reverse'; event: ReverseEvent };

/**
 * The event map of carve's engines, for an EventHub (src/event-hub.ts): each engine publishes
 * under its own name, whoever started it (a command, or migrate).
 */
export interface CarveEvents {
  provision: ProvisionEvent;
  copy: CopyEvent;
  sync: SyncEvent;
  verify: VerifyEvent;
  migrate: MigrateProgressEvent;
  /** Reverse streams (cut-over services' databases → the monolith), run by sync. */
  reverse: ReverseEvent;
}

/** A hub envelope of carve's engines as a MigrateEvent (engines' events wrapped, as migrate's onEvent gets them). */
export function asMigrateEvent(envelope: HubEvent<CarveEvents>): MigrateEvent {
  switch (envelope.engine) {
    case 'migrate':
      return envelope.event;
    case 'provision':
      return { type: 'provision', event: envelope.event };
    case 'copy':
      return { type: 'copy', event: envelope.event };
    case 'sync':
      return { type: 'sync', event: envelope.event };
    case 'verify':
      return { type: 'verify', event: envelope.event };
    case 'reverse':
      return { type: 'reverse', event: envelope.event };
  }
}
