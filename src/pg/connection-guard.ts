import type pg from 'pg';
import { CarveError } from '../errors.js';
import { connectionLost, type ConnectionTarget } from './connection-error.js';
import { connectionLostErrnos, connectionLostStates, errnoOf, sqlStateOf } from './sqlstate.js';

type QueryCallback = (error: Error | undefined, result: unknown) => void;
interface SubmittableWithErrors {
  submit: unknown;
  handleError?: (error: unknown, connection: unknown) => unknown;
}

/**
 * Turns the failures of an open connection that mean "the connection is gone" into a
 * ConnectionError (CONNECTION_LOST) in carve's words, naming the endpoint and keeping the reason:
 *
 * - a query failing with a connection-loss SQLSTATE (57P01 terminated, 57P02/57P03, class 08) or a
 *   socket errno (ECONNRESET, EPIPE …) — tables in src/pg/sqlstate.ts;
 * - a query failing without either after the connection broke: pg then says "Connection terminated
 *   unexpectedly" or "Client has encountered a connection error and is not queryable", which carry
 *   no code. The guard knows the connection broke from pg's own 'error' and 'end' events, so it
 *   never has to read those texts.
 *
 * Every other error (constraint violations, syntax, privileges) passes through untouched, with its
 * SQLSTATE, so callers keep classifying those as before. Promise queries and submittables (COPY
 * streams, the replication CopyBoth query) are both covered.
 */
export function guardConnection(client: pg.Client, target: ConnectionTarget): void {
  let broken = false;
  let reason: unknown;
  let closedByCarve = false;
  client.on('error', (error: Error) => {
    if (broken) return;
    broken = true;
    reason = error;
  });
  // pg rejects in-flight queries on the next tick after the socket ends; this listener runs first.
  client.connection.on('end', () => {
    broken = true;
  });

  const end = client.end.bind(client) as (callback?: (error: Error) => void) => Promise<void> | void;
  client.end = ((callback?: (error: Error) => void) => {
    closedByCarve = true;
    return end(callback);
  }) as typeof client.end;

  const translate = (error: unknown, issuedAfterEnd: boolean): unknown => {
    if (error instanceof CarveError) return error;
    const sqlState = sqlStateOf(error);
    if (sqlState !== undefined) return connectionLostStates.has(sqlState) ? lost(error, error) : error;
    const errno = errnoOf(error);
    if (errno !== undefined) return connectionLostErrnos.has(errno) ? lost(error, error) : error;
    // A query issued after carve itself ended the client is a bug in carve, not a lost connection.
    if (broken && !issuedAfterEnd) return lost(error, closedByCarve ? 'carve closed it' : reason);
    return error;
  };
  const lost = (error: unknown, why: unknown) => connectionLost(error, target, why);

  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    const issuedAfterEnd = closedByCarve;
    if (isSubmittable(config)) {
      const handleError = config.handleError;
      if (typeof handleError === 'function') {
        config.handleError = (error: unknown, connection: unknown) =>
          handleError.call(config, translate(error, issuedAfterEnd), connection);
      }
      return query(config, values, callback);
    }
    const done =
      typeof values === 'function' ? values : typeof callback === 'function' ? callback : undefined;
    if (done) {
      const wrapped: QueryCallback = (error, result) =>
        (done as QueryCallback)(error && (translate(error, issuedAfterEnd) as Error), result);
      return typeof values === 'function' ? query(config, wrapped) : query(config, values, wrapped);
    }
    return (query(config, values) as Promise<unknown>).catch((error: unknown) => {
      throw translate(error, issuedAfterEnd);
    });
  }) as typeof client.query;
}

function isSubmittable(config: unknown): config is SubmittableWithErrors {
  return (
    typeof config === 'object' &&
    config !== null &&
    typeof (config as { submit?: unknown }).submit === 'function'
  );
}
