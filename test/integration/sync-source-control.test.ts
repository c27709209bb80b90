import { beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/pg/connect.js';
import { SourceControl } from '../../src/sync/source-control.js';
import { createDatabase, useCluster } from '../support/cluster.js';

/**
 * sync's control connection to the monolith is asked many things at once (the type of every
 * column of a new relation): it runs them one at a time on its one connection. pg's own queue of
 * concurrent queries printed a DeprecationWarning in every `carve sync` and `carve demo` (and each
 * racing caller added a listener to the new client: MaxListenersExceededWarning).
 */
let url: string;

beforeAll(async () => {
  url = await createDatabase(await useCluster({ name: 'source-control' }), 'mono');
});

/** The control connection's client, watched: the most queries it ever had running at once. */
function watch(control: SourceControl): { client: Client; maxInFlight: () => number } {
  const client = (control as unknown as { client: Client }).client;
  let inFlight = 0;
  let max = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
    max = Math.max(max, ++inFlight);
    return query(...args).finally(() => inFlight--);
  };
  return { client, maxInFlight: () => max };
}

describe('SourceControl', () => {
  it('answers concurrent callers one query at a time, on one connection with one end listener', async () => {
    const control = new SourceControl(url, 'carve-test');
    try {
      // Concurrent from the start: every caller waits for the same first connection.
      const first = await Promise.all(Array.from({ length: 15 }, () => control.formatType(23, -1)));
      expect(new Set(first)).toEqual(new Set(['integer']));
      const watched = watch(control);
      expect(watched.client.listenerCount('end')).toBeLessThan(5);
      const types = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => control.formatType(1043, 4 + i)),
        control.currentWalLsn(),
      ]);
      expect(types[0]).toBe('character varying');
      expect(types[19]).toBe('character varying(19)');
      expect(watched.maxInFlight()).toBe(1);
      // A failing query does not stop the ones queued behind it.
      const [failed, after] = await Promise.allSettled([
        control.formatType(Number.NaN, 0),
        control.formatType(25, -1),
      ]);
      expect(failed.status).toBe('rejected');
      expect(after).toEqual({ status: 'fulfilled', value: 'text' });
    } finally {
      await control.close();
    }
  });
});
