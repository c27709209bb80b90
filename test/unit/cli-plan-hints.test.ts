import { describe, expect, it } from 'vitest';
import { withPlanFile } from '../../src/cli/run-command.js';

describe('hints name the plan file carve was given', () => {
  it('replaces --plan <file> and --plan <plan>, every one', () => {
    const hint = 'carve teardown --plan <plan> --yes, then carve migrate --plan <file>.';
    expect(withPlanFile(hint, 'plans/shop.yaml')).toBe(
      'carve teardown --plan plans/shop.yaml --yes, then carve migrate --plan plans/shop.yaml.',
    );
  });

  it('quotes a path a shell would split, and leaves the hint alone without a plan', () => {
    expect(withPlanFile('carve sync --plan <plan>', "my plan's.yaml")).toBe(
      `carve sync --plan 'my plan'\\''s.yaml'`,
    );
    expect(withPlanFile('carve sync --plan <plan>', '$HOME/p.yaml')).toBe(`carve sync --plan '$HOME/p.yaml'`);
    expect(withPlanFile('carve sync --plan <plan>', undefined)).toBe('carve sync --plan <plan>');
  });
});
