import { describe, expect, it } from 'vitest';
import { CarveError } from '../../src/errors.js';
import { isTransientError } from '../../src/pg/sqlstate.js';

/** Which failures sync and copy retry on a new connection, and which stop them. */
describe('isTransientError', () => {
  const socketError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENETDOWN',
    'EHOSTDOWN',
    'EAI_AGAIN',
  ])('retries after %s (the network or server went away for a while)', (code) => {
    expect(isTransientError(socketError(code))).toBe(true);
  });

  it('retries when every address of a happy-eyeballs connect failed transiently', () => {
    const aggregate = Object.assign(new AggregateError([socketError('ENETUNREACH')], 'connect'), {});
    expect(isTransientError(aggregate)).toBe(true);
  });

  it('stops on errors a retry cannot heal', () => {
    expect(isTransientError(socketError('EACCES'))).toBe(false);
    expect(isTransientError(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
    expect(isTransientError(new CarveError('PLAN_INVALID', 'bad plan'))).toBe(false);
  });

  it('retries server states that mean the server is going away', () => {
    expect(isTransientError(Object.assign(new Error('shutdown'), { code: '57P01' }))).toBe(true);
  });
});
