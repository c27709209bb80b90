import type { IndexBuilder } from '../copy/post-load.js';
import type { SnapshotEvents } from '../copy/snapshot-events.js';
import type { Routing } from '../routing/model.js';
import type { PreparedMigration } from '../routing/prepare-routing.js';
import type { EventHub } from '../event-hub.js';
import type { SinkFactory } from '../sync/sink.js';
import type { CarveEvents, MigrateEvent } from './events.js';

export interface MigrateOptions {
  prepared: PreparedMigration;
  buildIndexes: IndexBuilder;
  jobs?: number;
  chunkBytes?: number;
  secretsDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Destinations beside the service databases' appliers for the sync step (the plan's Kafka events:
   * `eventSinks(routing)`); the slot is acknowledged with the minimum over all of them.
   */
  sinks?: SinkFactory[];
  /**
   * The copy step's snapshot reads (plan `events.snapshot`; `copySnapshotOptions(routing)` from
   * src/events), made for the routing migrate copies with.
   */
  copySnapshot?: (routing: Routing) => { snapshotEvents?: SnapshotEvents; catchUpSinks?: SinkFactory[] };
  /** Keep streaming after the report until the signal fires. */
  follow?: boolean;
  /**
   * Called once the targets have caught up for the first time, before the final catch-up and verify
   * (the demo stops its write load here, so verify compares a quiet end state).
   */
  beforeVerify?: () => Promise<void>;
  /** Every event of migrate and of the engines it runs, wrapped (see asMigrateEvent). */
  onEvent?: (event: MigrateEvent) => void;
  /**
   * A hub to publish on: migrate's events under 'migrate', each engine's under its own name
   * ('provision', 'copy', 'sync', 'verify'). Default: a hub of its own (feeding onEvent).
   */
  events?: EventHub<CarveEvents>;
  signal?: AbortSignal;
}
