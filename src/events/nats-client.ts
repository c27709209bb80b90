/**
 * The NATS client (@nats-io/transport-node, @nats-io/jetstream), loaded on first use instead of
 * at start-up, like the Kafka client (kafka-client.ts): a plan without `events.nats` never loads it.
 * The NATS sink awaits `loadNats()` when it connects; `nats()` then returns the modules synchronously.
 */
export interface NatsModules {
  transport: typeof import('@nats-io/transport-node');
  jetstream: typeof import('@nats-io/jetstream');
}

let loaded: NatsModules | undefined;
let loading: Promise<NatsModules> | undefined;

export function loadNats(): Promise<NatsModules> {
  loading ??= Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]).then(
    ([transport, jetstream]) => (loaded = { transport, jetstream }),
  );
  return loading;
}

/** The modules after `loadNats()` resolved. */
export function nats(): NatsModules {
  if (!loaded) throw new Error('the NATS client was used before loadNats() resolved');
  return loaded;
}
