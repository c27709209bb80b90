import { existsSync } from 'node:fs';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { startKafka } from '../../src/cluster/local-kafka.js';

describe('throwaway Kafka broker', () => {
  it('starts in KRaft mode on free ports, keeps its data across a crash, and is removed on destroy', async () => {
    const kafka = await startKafka({ name: 'harness' });
    try {
      expect(kafka.port).not.toBe(9092);
      const admin = new Admin({ clientId: 'test', bootstrapBrokers: [kafka.bootstrap] });
      await admin.createTopics({ topics: ['kept'], partitions: 2, replicas: 1 });
      const producer = new Producer({
        clientId: 'test',
        bootstrapBrokers: [kafka.bootstrap],
        serializers: stringSerializers,
      });
      await producer.send({ messages: [{ topic: 'kept', key: 'a', value: 'one' }] });
      await producer.close();
      await admin.close();

      await kafka.restart('kill');
      const again = new Admin({ clientId: 'test', bootstrapBrokers: [kafka.bootstrap] });
      const metadata = await again.metadata({ topics: ['kept'] });
      expect(metadata.topics.get('kept')?.partitionsCount).toBe(2);
      await again.close();
    } finally {
      await kafka.destroy();
    }
    expect(existsSync(kafka.rootDir)).toBe(false);
    await kafka.destroy();
  });
});
