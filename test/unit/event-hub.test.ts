import { describe, expect, it } from 'vitest';
import { EventHub, type HubEvent } from '../../src/event-hub.js';
import { asMigrateEvent, type CarveEvents } from '../../src/migrate/events.js';
import type { SyncEvent } from '../../src/sync/events.js';

type Events = {
  sync: { type: 'lag'; n: number } | { type: 'caught-up'; lsn: string };
  copy: { type: 'chunk-done'; rows: number };
};

function clock(start = 1_000): () => number {
  let t = start;
  return () => t++;
}

describe('EventHub', () => {
  it('hands every event to every listener in subscription order, stamped with engine, time and sequence', () => {
    const hub = new EventHub<Events>({ now: clock() });
    const seen: string[] = [];
    const all: HubEvent<Events>[] = [];
    hub.subscribe((e) => void all.push(e));
    hub.subscribe((e) => void seen.push(`second ${String(e.engine)}`));
    hub.on('sync', (event, envelope) => void seen.push(`sync ${event.type} ${envelope.seq}`));
    hub.on('copy', (event) => void seen.push(`copy ${event.rows}`));

    const onEvent = hub.emitter('sync'); // what an engine gets as its onEvent
    onEvent({ type: 'lag', n: 1 });
    hub.emit('copy', { type: 'chunk-done', rows: 7 });

    expect(all).toEqual([
      { engine: 'sync', at: 1000, seq: 1, event: { type: 'lag', n: 1 } },
      { engine: 'copy', at: 1001, seq: 2, event: { type: 'chunk-done', rows: 7 } },
    ]);
    expect(seen).toEqual(['second sync', 'sync lag 1', 'second copy', 'copy 7']);
  });

  it('narrows the event by engine', () => {
    const hub = new EventHub<Events>();
    const lsns: string[] = [];
    hub.subscribe((e) => {
      if (e.engine === 'sync' && e.event.type === 'caught-up') lsns.push(e.event.lsn);
    });
    hub.emit('sync', { type: 'caught-up', lsn: '0/10' });
    expect(lsns).toEqual(['0/10']);
  });

  it('isolates a throwing or rejecting listener: the emitter and the other listeners go on, the failure is counted', async () => {
    const errors: unknown[] = [];
    const hub = new EventHub<Events>({
      onListenerError: (error, envelope) => {
        errors.push([error instanceof Error ? error.message : error, envelope.seq]);
        throw new Error('the error handler fails too');
      },
    });
    const got: number[] = [];
    hub.on('copy', () => {
      throw new Error('printer broke');
    });
    hub.on('copy', async () => {
      throw new Error('async listener broke');
    });
    hub.on('copy', (event) => void got.push(event.rows));

    expect(() => hub.emit('copy', { type: 'chunk-done', rows: 1 })).not.toThrow();
    hub.emit('copy', { type: 'chunk-done', rows: 2 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(got).toEqual([1, 2]);
    expect(hub.listenerFailures).toBe(4);
    expect(errors).toEqual([
      ['printer broke', 1],
      ['printer broke', 2],
      ['async listener broke', 1],
      ['async listener broke', 2],
    ]);
  });

  it('unsubscribes; an emit in progress still reaches the listeners it started with', () => {
    const hub = new EventHub<Events>();
    const got: string[] = [];
    let stopB: () => void = () => {};
    hub.subscribe((e) => {
      got.push(`a${e.seq}`);
      stopB();
    });
    stopB = hub.subscribe((e) => void got.push(`b${e.seq}`));
    const stopC = hub.subscribe((e) => void got.push(`c${e.seq}`));
    hub.emit('copy', { type: 'chunk-done', rows: 1 });
    stopC();
    hub.emit('copy', { type: 'chunk-done', rows: 2 });
    expect(got).toEqual(['a1', 'b1', 'c1', 'a2']);
    expect(hub.listenerCount).toBe(1);
  });

  it("wraps engines' events for migrate's onEvent", () => {
    const hub = new EventHub<CarveEvents>();
    const wrapped: unknown[] = [];
    hub.subscribe((e) => void wrapped.push(asMigrateEvent(e)));
    const caughtUp: SyncEvent = { type: 'caught-up', lsn: '0/1' };
    hub.emit('sync', caughtUp);
    hub.emit('migrate', { type: 'step-started', step: 'sync' });
    expect(wrapped).toEqual([
      { type: 'sync', event: caughtUp },
      { type: 'step-started', step: 'sync' },
    ]);
  });
});
