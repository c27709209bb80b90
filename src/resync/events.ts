/** What carve resync reports while it runs (docs/sync.md, Schema changes). */
export type ResyncEvent =
  | { type: 'resync-registered'; table: string; routes: string[]; snapshotLsn: string }
  | { type: 'resync-chunk'; route: string; rows: number; totalRows: number }
  | { type: 'resync-route-copied'; route: string; rows: number }
  | { type: 'resync-finished'; table: string; snapshotLsn: string; rows: number; seconds: number };

export interface ResyncStatement {
  database: string;
  /** `admin`: run with the plan's target URL (provisioning); `carve`: as carve's role. */
  as: 'admin' | 'carve';
  sql: string;
}

export interface ResyncResult {
  table: string;
  routes: string[];
  dryRun: boolean;
  /** The handover: the table's changes committed before it are in the copy, later ones come from sync. */
  snapshotLsn: string | null;
  rows: number;
  /** With --dry-run: what would run. */
  statements: ResyncStatement[];
}
