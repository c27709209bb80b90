import { CarveError } from '../errors.js';
import type { Routing } from '../routing/model.js';

/**
 * The reverse stream (service database → monolith) as cutover, rollback, complete and status use
 * it: the API of src/reverse/ (built on its own), in one place.
 */
export interface ReverseApi {
  prepareReverse(
    routing: Routing,
    service: string,
  ): Promise<{ slot: string; publication: string; startLsn: string }>;
  waitReverseApplied(routing: Routing, service: string, lsn: string, timeoutMs: number): Promise<void>;
  readReverseStatus(
    routing: Routing,
    service: string,
  ): Promise<{ appliedLsn: string | null; lastActivity: string | null; running: boolean }>;
  dropReverse(routing: Routing, service: string): Promise<void>;
  startReverseSync(options: {
    routing: Routing;
    services?: string[];
    signal?: AbortSignal;
    onEvent?: (event: unknown) => void;
  }): Promise<unknown>;
}

let loaded: Promise<ReverseApi> | undefined;

/**
 * TODO(reverse): import src/reverse/index.js statically once that engine is merged; until then it
 * is looked up at run time, and a carve without it refuses the steps that need it.
 */
export function reverseApi(): Promise<ReverseApi> {
  const specifier = '../reverse/index.js';
  loaded ??= (import(specifier) as Promise<ReverseApi>).catch((error: unknown) => {
    loaded = undefined;
    throw new CarveError('CUTOVER_REVERSE_UNAVAILABLE', 'This carve has no reverse stream engine', {
      details: {},
      hint: 'Use a carve build that includes the reverse stream (src/reverse); cutover stops before creating the reverse stream.',
      cause: error,
    });
  });
  return loaded;
}
