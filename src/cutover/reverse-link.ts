import {
  dropReverse,
  prepareReverse,
  readReverseStatus,
  startReverseSync,
  waitReverseApplied,
} from '../reverse/index.js';

/**
 * The reverse stream (service database → monolith) as cutover, rollback, complete and status use
 * it: the API of src/reverse/, in one place.
 */
export interface ReverseApi {
  prepareReverse: typeof prepareReverse;
  waitReverseApplied: typeof waitReverseApplied;
  readReverseStatus: typeof readReverseStatus;
  dropReverse: typeof dropReverse;
  startReverseSync: typeof startReverseSync;
}

const api: ReverseApi = {
  prepareReverse,
  waitReverseApplied,
  readReverseStatus,
  dropReverse,
  startReverseSync,
};

export function reverseApi(): Promise<ReverseApi> {
  return Promise.resolve(api);
}
