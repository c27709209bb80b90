import { afterAll, afterEach } from 'vitest';
import { PG_OVERLAP_WARNING } from './pg-overlap.js';

/*
 * Fails the running test when pg warns that a query was issued on a client that is still busy
 * with another ("Calling client.query() when the client is already executing a query is
 * deprecated"). pg 9 turns that warning into an error, so an overlap that merely warns today is a
 * crash after an upgrade. Node emits each deprecation once per process, so the first overlap in a
 * test file is the one reported; the warning's stack names the call site. CLI runs are checked
 * on their stderr (test/support/carve-cli.ts).
 */

interface Seen {
  warnings: Error[];
}
const key = Symbol.for('carve.test.pgOverlapWarnings');
const holder = globalThis as unknown as Record<symbol, Seen | undefined>;
// One listener per process, however many test files a worker runs.
const seen: Seen = holder[key] ?? (holder[key] = { warnings: [] });
if (!process.listeners('warning').some((l) => l.name === 'recordPgOverlap')) {
  process.on('warning', function recordPgOverlap(warning) {
    if (warning.name === 'DeprecationWarning' && warning.message.includes(PG_OVERLAP_WARNING)) {
      seen.warnings.push(warning);
    }
  });
}

function failOnOverlap(): void {
  const warning = seen.warnings[0];
  if (!warning) return;
  seen.warnings.length = 0;
  throw new Error(
    `pg: a query was issued on a client that was still executing one\n${warning.stack ?? warning.message}`,
  );
}

afterEach(failOnOverlap);
afterAll(failOnOverlap);
