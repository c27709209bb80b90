import type { Lsn } from '../pg/lsn.js';

/**
 * One row of <state>.holds as sync reads it. Its own file, free of pg's types: the hold book (and
 * through it the public SyncOptions) refers to it, and a library user need not install @types/pg.
 */
export interface HoldRow {
  lsn: Lsn;
  requestedBy: string;
  reached: boolean;
  error: string | null;
}
