import { afterAll } from 'vitest';
import { startKafka, type LocalKafka, type StartKafkaOptions } from '../../src/cluster/local-kafka.js';

const started: LocalKafka[] = [];

// Registered at collection, like the PostgreSQL clusters' hook (test/support/cluster.ts).
afterAll(async () => {
  await Promise.all(started.splice(0).map((kafka) => kafka.destroy()));
});

/** A throwaway Kafka broker (KRaft) for one test file, removed after the file's tests. */
export async function useKafka(options: StartKafkaOptions = {}): Promise<LocalKafka> {
  const kafka = await startKafka(options);
  started.push(kafka);
  return kafka;
}
