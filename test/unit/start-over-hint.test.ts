import { describe, expect, it } from 'vitest';
import type { Routing } from '../../src/routing/model.js';
import type { MovedService } from '../../src/sync/moved-services.js';
import { startOverHint } from '../../src/sync/start-over-hint.js';

/** Only the services matter to the hint. */
const routing = {
  services: [
    { name: 'patient', database: 'patient_db' },
    { name: 'clinical', database: 'clinical_db' },
    { name: 'billing', database: 'billing_db' },
  ],
} as unknown as Routing;

const moved = (service: string, phase: MovedService['phase']): MovedService => ({
  service,
  database: `${service}_db`,
  phase,
});

describe('startOverHint', () => {
  it('with nothing moved: teardown, drop every service database, migrate', () => {
    expect(startOverHint(routing)).toBe(
      'Streaming cannot resume: the monolith no longer keeps the changes made since the copy. ' +
        'Start over with a fresh copy: carve teardown --plan <plan> --yes (drops what is left of the slot and the publication), ' +
        'then drop the service databases (patient_db, clinical_db, billing_db), then carve migrate --plan <plan>.',
    );
  });

  it('names each moved service and rolls it back before anything is dropped', () => {
    const hint = startOverHint(routing, [moved('patient', 'cut-over'), moved('billing', 'rolling-back')]);
    expect(hint).toContain('patient is cut over: patient_db holds writes the monolith does not have');
    expect(hint).toContain('billing is being rolled back: billing_db holds writes');
    expect(hint).toContain('(do not drop them;');
    const rollbacks = [
      hint.indexOf('carve rollback --plan <plan> --service patient'),
      hint.indexOf('carve rollback --plan <plan> --service billing'),
    ];
    expect(Math.min(...rollbacks)).toBeGreaterThan(-1);
    expect(Math.max(...rollbacks)).toBeLessThan(hint.indexOf('carve teardown'));
    expect(Math.max(...rollbacks)).toBeLessThan(hint.indexOf('drop the service databases'));
    expect(hint).toContain('Once every rollback has succeeded');
    expect(hint).toMatch(/and cut patient, billing over again when ready\.$/);
  });

  it('keeps a completed service out of the databases to drop', () => {
    const hint = startOverHint(routing, [moved('patient', 'completed')]);
    expect(hint).toContain('patient is completed: keep patient_db, and use a plan without it');
    expect(hint).toContain('then drop the service databases (clinical_db, billing_db)');
    expect(hint).not.toContain('carve rollback');
  });
});
