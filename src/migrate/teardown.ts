import { atMonolith, withSession } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { dropSlot, slotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import { acquireMigrationLock } from '../state/migration-lock.js';
import { CarveError } from '../errors.js';

export interface TeardownPlan {
  slot: { name: string; exists: boolean; retainedBytes: string | null; activePid: number | null };
  publication: { name: string; exists: boolean };
}

export interface TeardownResult extends TeardownPlan {
  slotDropped: boolean;
  publicationDropped: boolean;
}

/**
 * What carve left on the monolith for this migration: its replication slot (which keeps every WAL
 * segment since the last acknowledged position until it is dropped) and its publication. Reads only.
 */
export async function readTeardownPlan(routing: Routing): Promise<TeardownPlan> {
  const { names } = routing;
  const slot = await slotInfo(routing.sourceUrl, names.slot);
  const publication = await withSession(atMonolith(routing.sourceUrl), async (client) => {
    const { rows } = await client.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [
      names.publication,
    ]);
    return rows.length > 0;
  });
  return {
    slot: {
      name: names.slot,
      exists: slot.exists,
      retainedBytes: slot.exists ? (slot.retainedWalBytes?.toString() ?? null) : null,
      activePid: slot.exists ? slot.activePid : null,
    },
    publication: { name: names.publication, exists: publication },
  };
}

/**
 * Remove carve's objects from the monolith: the slot, then the publication. Under the migration
 * lock, so it refuses while `carve sync` (or any carve command of this migration) runs. The service
 * databases are left as they are; without the slot, streaming into them cannot resume (a new
 * migration starts with provision and copy). Idempotent.
 */
export async function teardown(routing: Routing): Promise<TeardownResult> {
  const { names } = routing;
  const lock = await acquireMigrationLock(routing.sourceUrl, names.migration, 'teardown');
  try {
    const plan = await readTeardownPlan(routing);
    const active = plan.slot.activePid;
    if (active !== null) {
      throw new CarveError(
        'TEARDOWN_SLOT_ACTIVE',
        `Replication slot ${names.slot} is in use by backend ${active}`,
        {
          details: { slot: names.slot, pid: active },
          hint: 'Stop whatever streams from it (a carve sync of another machine, pg_recvlogical …), then run carve teardown again.',
        },
      );
    }
    const slotDropped = plan.slot.exists ? await dropSlot(routing.sourceUrl, names.slot) : false;
    const publicationDropped = plan.publication.exists
      ? await withSession(atMonolith(routing.sourceUrl), async (client) => {
          await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(names.publication)}`);
          return true;
        })
      : false;
    return { ...plan, slotDropped, publicationDropped };
  } finally {
    await lock.release();
  }
}
