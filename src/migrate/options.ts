import type { IndexBuilder } from '../copy/post-load.js';
import type { PreparedMigration } from '../routing/prepare-routing.js';
import type { MigrateEvent } from './events.js';

export interface MigrateOptions {
  prepared: PreparedMigration;
  buildIndexes: IndexBuilder;
  jobs?: number;
  chunkBytes?: number;
  secretsDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Keep streaming after the report until the signal fires. */
  follow?: boolean;
  /**
   * Called once the targets have caught up for the first time, before the final catch-up and verify
   * (the demo stops its write load here, so verify compares a quiet end state).
   */
  beforeVerify?: () => Promise<void>;
  onEvent?: (event: MigrateEvent) => void;
  signal?: AbortSignal;
}
