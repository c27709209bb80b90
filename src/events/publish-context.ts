import { atMonolith, withSession } from '../pg/connect.js';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import type { EventRouting, Routing } from '../routing/model.js';
import { sourceSessionUrl } from '../sync/source-session.js';
import { readColumnTypes, type PublishedColumnType } from './column-types.js';

/** What a publisher reads from the monolith when it opens (every broker's sink alike). */
export interface PublishContext {
  /** `schema.table` → column → type of every published column. */
  types: Map<string, Map<string, PublishedColumnType>>;
  /** The monolith's database name (`source.db`). */
  database: string;
  /** The slot's confirmed position: where a sink that never published starts. */
  slotPosition: Lsn;
}

export async function readPublishContext(routing: Routing, events: EventRouting): Promise<PublishContext> {
  return withSession(atMonolith(sourceSessionUrl(routing.sourceUrl)), async (client) => {
    const types = await readColumnTypes(
      client,
      events.tables.map((t) => t.source),
    );
    const db = await client.query<{ db: string; lsn: string | null }>(
      `SELECT pg_catalog.current_database() AS db,
              (SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1) AS lsn`,
      [routing.names.slot],
    );
    const lsn = db.rows[0]!.lsn;
    return { types, database: db.rows[0]!.db, slotPosition: lsn ? parseLsn(lsn) : 0n };
  });
}

/** Types of columns added on the monolith since the sink opened (schema_changes: add_nullable_columns). */
export async function rereadColumnTypes(
  routing: Routing,
  events: EventRouting,
): Promise<Map<string, Map<string, PublishedColumnType>>> {
  return withSession(atMonolith(sourceSessionUrl(routing.sourceUrl)), (client) =>
    readColumnTypes(
      client,
      events.tables.map((t) => t.source),
    ),
  );
}
