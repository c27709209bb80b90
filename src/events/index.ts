import { readFileSync } from 'node:fs';
import type { Routing } from '../routing/model.js';
import type { SinkFactory } from '../sync/sink.js';
import { kafkaSink } from './kafka-sink.js';
import { natsSink } from './nats-sink.js';
import { syncCompletedSink } from './sync-completed-sink.js';

export { kafkaSink, KafkaSink, type KafkaSinkOptions } from './kafka-sink.js';
export { natsSink, NatsSink, type NatsSinkOptions } from './nats-sink.js';
export { TableEnvelope } from './envelope.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** `source.version` of carve's events (Debezium puts its own version there). */
export const EVENTS_VERSION = `carve-${pkg.version}`;

/** The sinks the plan's `events:` asks for (none without it). */
export function eventSinks(routing: Routing): SinkFactory[] {
  const events = routing.events;
  if (!events) return [];
  const sinks: SinkFactory[] = [];
  if (events.kafka) sinks.push(kafkaSink({ events, version: EVENTS_VERSION }));
  if (events.nats) sinks.push(natsSink({ events, version: EVENTS_VERSION }));
  if (events.kafka && events.syncCompleted) sinks.push(syncCompletedSink(events));
  return sinks;
}
