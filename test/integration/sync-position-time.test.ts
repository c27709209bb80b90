import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { ensureStateSchema } from '../../src/state/state-schema.js';
import { SyncState } from '../../src/sync/state.js';
import { createDatabase, useCluster } from '../support/cluster.js';

let pg: LocalCluster;

beforeAll(async () => {
  pg = await useCluster({ name: 'sync-position-time' });
});

describe('the commit time of an applied position, read back', () => {
  it('is ISO-8601 UTC like a time just applied (one format in the lag lines), whatever the session time zone', async () => {
    const url = await createDatabase(pg, 'position_time');
    await withClient(url, async (c) => {
      await ensureStateSchema(c, 'carve');
      await c.query(`INSERT INTO carve.apply_position (migration, lsn, commit_time)
                     VALUES ('m', '0/16B5000', '2026-12-04 22:14:45.000012+00')`);
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns']) {
        await c.query(`SET TimeZone = '${zone}'`);
        expect((await new SyncState('carve', 'm').readPosition(c)).commitTime, zone).toBe(
          '2026-12-04T22:14:45.000012Z',
        );
      }
    });
  });
});
