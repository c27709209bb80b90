import type { Routing } from '../routing/model.js';
import type { BackupEvent } from './events.js';

export interface BackupOptions {
  routing: Routing;
  /** Directory to write into: must not exist, or be empty. */
  outDir: string;
  /** pg_dump -j: tables dumped at once (default 2). */
  jobs?: number;
  /**
   * Path of pg_dump (default: next to the PostgreSQL server binaries, else $PATH); pg_restore is
   * taken from the same directory.
   */
  pgDump?: string;
  onEvent?: (event: BackupEvent) => void;
  applicationName?: string;
}
