/**
 * Where engines' events go, for any number of listeners (the CLI's printer, a JSON log, a metrics
 * registry, a web page's live feed) that the engines never know about.
 *
 *   const hub = new EventHub<CarveEvents>();
 *   hub.on('sync', (event) => …);                      // one engine's events
 *   hub.subscribe((e) => log.write(JSON.stringify(e))); // every event, as { engine, at, seq, event }
 *   await startSync({ routing, onEvent: hub.emitter('sync') });
 *
 * An engine takes a plain `onEvent` callback; `hub.emitter(name)` is one, which stamps each event
 * with the engine's name and the time. Listeners only receive: they never get a handle on an
 * engine. A listener that throws (or returns a promise that rejects) never reaches the engine or
 * the other listeners: the failure is counted and passed to `onListenerError`.
 *
 * Low layer (next to errors.ts): generic over the event map, so it imports no engine.
 */

/** One event as listeners see it. */
export interface HubEnvelope<M, K extends keyof M = keyof M> {
  /** The engine that emitted it (the key of the event map: 'sync', 'copy' …). */
  engine: K;
  /** When it was emitted, ms since the Unix epoch. */
  at: number;
  /** 1, 2, 3 … in emission order within this hub. */
  seq: number;
  event: M[K];
}

/** Any event of the map, narrowed by `engine`. */
export type HubEvent<M> = { [K in keyof M]: HubEnvelope<M, K> }[keyof M];

export type Unsubscribe = () => void;

export interface EventHubOptions<M> {
  /** Called (guarded) when a listener throws or rejects. */
  onListenerError?: (error: unknown, envelope: HubEvent<M>) => void;
  /** The clock (tests). */
  now?: () => number;
}

type Listener<M> = (envelope: HubEvent<M>) => unknown;

export class EventHub<M extends object> {
  /** Replaced, never mutated, on (un)subscribe: an emit in progress keeps the list it started with. */
  private listeners: readonly Listener<M>[] = [];
  private seq = 0;
  private failures = 0;
  private readonly now: () => number;

  constructor(private readonly options: EventHubOptions<M> = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Listener calls that threw or rejected so far. */
  get listenerFailures(): number {
    return this.failures;
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  /** Stamp the event with the engine and the time and hand it to every listener, in subscription order. */
  emit<K extends keyof M>(engine: K, event: M[K]): void {
    const listeners = this.listeners;
    if (listeners.length === 0) {
      this.seq++;
      return;
    }
    const envelope = { engine, at: this.now(), seq: ++this.seq, event } as HubEvent<M>;
    for (const listener of listeners) {
      try {
        const result = listener(envelope);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.failed(error, envelope));
      } catch (error) {
        this.failed(error, envelope);
      }
    }
  }

  /** An `onEvent` callback for one engine. */
  emitter<K extends keyof M>(engine: K): (event: M[K]) => void {
    return (event) => this.emit(engine, event);
  }

  /** Every event of every engine. */
  subscribe(listener: (envelope: HubEvent<M>) => unknown): Unsubscribe {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The events of one engine. */
  on<K extends keyof M>(
    engine: K,
    listener: (event: M[K], envelope: HubEnvelope<M, K>) => unknown,
  ): Unsubscribe {
    return this.subscribe((envelope) => {
      if (envelope.engine === engine) {
        const own = envelope as unknown as HubEnvelope<M, K>;
        return listener(own.event, own);
      }
      return undefined;
    });
  }

  private failed(error: unknown, envelope: HubEvent<M>): void {
    this.failures++;
    try {
      this.options.onListenerError?.(error, envelope);
    } catch {
      // A failing error handler is counted above already; nothing else may reach the engine.
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
