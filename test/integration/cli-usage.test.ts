import { describe, expect, it } from 'vitest';
import { runCarve } from '../support/carve-cli.js';

/**
 * What commander refuses before any carve code runs (an unknown flag or command, a missing
 * required flag) exits 2 like every other usage error (docs/errors.md); help and version exit 0.
 * No server is involved: the command line is refused before anything connects.
 */
describe('command-line usage errors', () => {
  it('a misspelt or missing --plan, an unknown flag or command: exit 2, with what was wrong', async () => {
    const cases: [string[], string][] = [
      // The misspelt flag is named (not the --plan it leaves missing), with the closest real one.
      [['provision', '--plna', 'plan.yaml'], "unknown option '--plna'\n(Did you mean --plan?)"],
      [
        ['cutover', '--plan', 'plan.yaml', '--servce', 'shop'],
        "unknown option '--servce'\n(Did you mean --service?)",
      ],
      [['cutover', '--plan', 'plan.yaml'], "required option '--service <name>' not specified"],
      [['status'], "required option '--plan <file>' not specified"],
      [['plan', '--plan', 'plan.yaml', '--jsno'], "unknown option '--jsno'"],
      [['verfy', '--plan', 'plan.yaml'], "unknown command 'verfy'"],
      [['cutover', '--plan', 'plan.yaml', '--service'], "option '--service <name>' argument missing"],
    ];
    for (const [args, message] of cases) {
      const run = await runCarve(args);
      expect(run.stderr, args.join(' ')).toContain(message);
      if (message.startsWith('unknown option')) expect(run.stderr).not.toContain('required option');
      expect(run.code, args.join(' ')).toBe(2);
    }
  });

  it('--help and --version exit 0', async () => {
    for (const args of [['--help'], ['--version'], ['cutover', '--help']]) {
      const run = await runCarve(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout).not.toBe('');
    }
  });
});
