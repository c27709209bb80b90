import { afterAll } from 'vitest';
import { startNats, type LocalNats, type StartNatsOptions } from '../../src/cluster/local-nats.js';

const started: LocalNats[] = [];

// Registered at collection, like the PostgreSQL clusters' and Kafka brokers' hooks.
afterAll(async () => {
  await Promise.all(started.splice(0).map((nats) => nats.destroy()));
});

/** A throwaway nats-server with JetStream for one test file, removed after the file's tests. */
export async function useNats(options: StartNatsOptions = {}): Promise<LocalNats> {
  const nats = await startNats(options);
  started.push(nats);
  return nats;
}
