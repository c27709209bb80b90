import { readFileSync } from 'node:fs';
import type { Routing } from '../routing/model.js';
import type { SinkFactory } from '../sync/sink.js';
import { kafkaSink } from './kafka-sink.js';
import { natsSink } from './nats-sink.js';
import { KafkaSnapshotEvents } from './snapshot-publisher.js';
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

/**
 * The copy's event options: the snapshot publisher when the plan asks for snapshot reads (`events.
 * snapshot: true`), and the plan's event sinks for a resumed copy's catch-up stream whenever it has
 * events at all. The catch-up applies the changes between the consistent point and the later
 * snapshot and the slot passes them: without the sinks there, those change events would never be
 * published (with snapshot reads, after every one of them).
 */
export function copySnapshotOptions(routing: Routing): {
  snapshotEvents?: KafkaSnapshotEvents;
  catchUpSinks?: SinkFactory[];
} {
  const sinks = eventSinks(routing);
  return {
    ...(routing.events?.snapshot && routing.events.kafka
      ? { snapshotEvents: new KafkaSnapshotEvents(routing, EVENTS_VERSION) }
      : {}),
    ...(sinks.length > 0 ? { catchUpSinks: sinks } : {}),
  };
}
