import { describe, expect, it } from 'vitest';
import { demoCutoverFailures, foreignKeyWaits } from '../../src/cli/demo-run.js';
import type { DemoCutoverReport, DemoCutoverStep } from '../../src/demo/demo-cutover.js';

/** The words `carve demo` ends with when its cutover phase failed (all its other lines read well). */
function report(failedOther: number, steps: Partial<DemoCutoverStep>[], verifyOk = true): DemoCutoverReport {
  return {
    steps: steps as DemoCutoverStep[],
    rollbackService: 'patient',
    load: {} as DemoCutoverReport['load'],
    failedFrozen: 30,
    failedOther,
    verify: { ok: verifyOk } as DemoCutoverReport['verify'],
    completed: [],
    seconds: 60,
  };
}

describe('demoCutoverFailures', () => {
  it('names the SQLSTATE, the count and the step of writes that failed for another reason than the freeze', () => {
    const failures = demoCutoverFailures(
      report(2, [
        { step: 'cutover', service: 'auth', loadErrors: { CV001: 17 } },
        { step: 'cutover', service: 'pharmacy', loadErrors: { '23503': 2, CV001: 28 } },
      ]),
    );
    expect(failures).toEqual([
      '2 writes of the load failed with an error other than CV001 (23503 ×2 during cutover pharmacy)',
    ]);
  });

  it('differences after the streams caught up; nothing when only the freeze refused writes', () => {
    expect(demoCutoverFailures(report(0, [], false))).toEqual([
      'verify found differences between the monolith and the services',
    ]);
    expect(
      demoCutoverFailures(report(0, [{ step: 'cutover', service: 'auth', loadErrors: { CV001: 3 } }])),
    ).toEqual([]);
  });
});

describe('foreignKeyWaits', () => {
  const waits = (count: number, timedOut: number, maxMs: number) => ({
    count,
    timedOut,
    maxMs,
    totalMs: maxMs,
  });
  it('says how many writes waited for the reverse stream or for their table to move, the longest, and any out of time', () => {
    const load = { retries: { '23503': 7 } } as unknown as DemoCutoverReport['load'];
    expect(foreignKeyWaits({ ...load, reverseWaits: waits(6, 0, 1200), routeWaits: waits(0, 0, 0) })).toBe(
      "6 waits for the reverse stream (longest 1.2 s), 0 for the child's service to move, then ran again (23503: a monolith foreign key to a row written in a service database)",
    );
    expect(
      foreignKeyWaits({ ...load, reverseWaits: waits(3, 1, 60_000), routeWaits: waits(2, 0, 9000) }),
    ).toBe(
      "3 waits for the reverse stream (longest 1m00s), 2 for the child's service to move (longest 9.0 s), then ran again (23503: a monolith foreign key to a row written in a service database); 1 out of time (failed)",
    );
    expect(foreignKeyWaits(load)).toBe(
      '7 writes ran again (23503: a monolith foreign key to a row written in a service database)',
    );
  });
});
