import { EventHub } from '../event-hub.js';
import { errorText } from '../errors.js';
import type { CarveEvents } from '../migrate/events.js';

/**
 * The hub a command publishes its engines' events on; the command's printer is one listener. A
 * listener that fails is reported once on stderr and never stops the command.
 */
export function createCliHub<M extends object = CarveEvents>(): EventHub<M> {
  let warned = false;
  return new EventHub<M>({
    onListenerError: (error, envelope) => {
      if (warned) return;
      warned = true;
      process.stderr.write(`carve: showing a ${String(envelope.engine)} event failed: ${errorText(error)}\n`);
    },
  });
}
