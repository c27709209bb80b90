import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';

/**
 * `carve apply`'s consumer offsets, in the service database's carve schema (table kafka_offsets,
 * state schema version 7): the next offset of
 * carve's checkpoint topic to read, written in the same transaction as the rows and the applied
 * position (TargetApplier.positionWrites), so a crash never separates them.
 */
export class ApplyOffsets {
  constructor(
    private readonly schema: string,
    private readonly migration: string,
  ) {}

  private get table(): string {
    return quoteQualified(this.schema, 'kafka_offsets');
  }

  async read(client: Client, topic: string): Promise<bigint | null> {
    const { rows } = await client.query<{ next: string }>(
      `SELECT next_offset::text AS next FROM ${this.table} WHERE migration = $1 AND topic = $2 AND partition = 0`,
      [this.migration, topic],
    );
    return rows[0] ? BigInt(rows[0].next) : null;
  }

  async write(client: Client, topic: string, next: bigint): Promise<void> {
    await client.query(
      `INSERT INTO ${this.table} (migration, topic, partition, next_offset) VALUES ($1, $2, 0, $3)
       ON CONFLICT (migration, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()`,
      [this.migration, topic, String(next)],
    );
  }
}
