/**
 * The Kafka client (@platformatic/kafka), loaded on first use instead of at start-up: importing it
 * costs ≈ 0.5 s CPU and ≈ 50 MB of memory (it compiles its option schemas), which every carve
 * process paid even with no `events.kafka` in the plan. Everything that talks to Kafka awaits
 * `loadKafka()` before it creates a client; `kafka()` then returns the module synchronously.
 */
export type KafkaModule = typeof import('@platformatic/kafka');

let loaded: KafkaModule | undefined;
let loading: Promise<KafkaModule> | undefined;

export function loadKafka(): Promise<KafkaModule> {
  loading ??= import('@platformatic/kafka').then((module) => (loaded = module));
  return loading;
}

/** The module after `loadKafka()` resolved. */
export function kafka(): KafkaModule {
  if (!loaded) throw new Error('the Kafka client was used before loadKafka() resolved');
  return loaded;
}
