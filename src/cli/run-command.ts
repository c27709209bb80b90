import { exitCategoryOf } from '../error-catalogue.js';
import { CarveError, errorText, isCarveError } from '../errors.js';
import { redactText, redactValue } from '../pg/redact.js';
import { ExitCode, type ExitCodeValue } from './exit.js';
import { jsonLine } from './format.js';
import { renderProblems } from './plan-problems.js';

/** What a command's body returns: how it ended, when that is not plainly "ok". */
export type CommandOutcome = void | { exit: 'ok' | 'failed' | 'incomplete' | 'mismatch' | 'attention' };

export interface CommandContext {
  /** --json: an error is one JSON object on stdout instead of text on stderr. */
  json?: boolean;
  /** The plan file, so that hints saying `--plan <file>` (or `<plan>`) name the real one. */
  plan?: string;
}

/**
 * Every command's action: run the body, then exit with the code its outcome or its error maps to.
 * An error is printed once, here, in one shape: with --json one line on stdout,
 *
 *     {"type":"error","code":"…","message":"…","hint":"…","details":{…}}
 *
 * (PLAN_INVALID also keeps its `ok`, `file` and `problems` at the top, as `carve plan --json`
 * always printed them); without --json, `carve: CODE: message` and `→ hint` on stderr. The exit
 * code is the code's category in the catalogue (src/error-catalogue.ts). Anything that is not a
 * CarveError is UNEXPECTED_ERROR (exit 1). Passwords are masked in everything printed.
 */
export async function runCommand(
  context: CommandContext,
  body: () => Promise<CommandOutcome>,
): Promise<never> {
  let code: ExitCodeValue;
  try {
    const outcome = await body();
    code = ExitCode[outcome?.exit ?? 'ok'];
  } catch (error) {
    code = reportError(error, context);
  }
  return exitAfterOutput(code);
}

/** Print an error as runCommand does and return its exit code (for the program's last resort). */
export function reportError(error: unknown, context: CommandContext = {}): ExitCodeValue {
  const carveError = asCarveError(error);
  const hint = carveError.hint === undefined ? null : redactText(withPlanFile(carveError.hint, context.plan));
  const message = redactText(carveError.message);
  const details = redactValue(carveError.details);
  if (context.json) {
    const legacy = isCarveError(carveError, 'PLAN_INVALID')
      ? { ok: false, file: carveError.details.file, problems: carveError.details.problems }
      : {};
    process.stdout.write(
      jsonLine({ type: 'error', code: carveError.code, message, hint, details, ...redactValue(legacy) }),
    );
  } else if (isCarveError(carveError, 'PLAN_INVALID')) {
    process.stderr.write(redactText(renderProblems(carveError.details.problems, carveError.details.file)));
  } else {
    process.stderr.write(`carve: ${carveError.code}: ${message}${hint ? `\n  → ${hint}` : ''}\n`);
    if (!isCarveError(error) && error instanceof Error && error.stack && process.env.CARVE_DEBUG)
      process.stderr.write(`${redactText(error.stack)}\n`);
  }
  return ExitCode[exitCategoryOf(carveError.code)];
}

/** Exit once stdout and stderr have been handed to the OS (a pipe may still hold our last line). */
export async function exitAfterOutput(code: number): Promise<never> {
  await Promise.all([
    new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
    new Promise<void>((resolve) => process.stderr.write('', () => resolve())),
  ]);
  process.exit(code);
}

function asCarveError(error: unknown): CarveError {
  if (error instanceof CarveError) return error;
  return new CarveError('UNEXPECTED_ERROR', errorText(error), {
    hint: 'This is a bug in carve: run again with CARVE_DEBUG=1 and report the output.',
    cause: error,
  });
}

/**
 * Hints say `--plan <file>` (or `--plan <plan>`); on the command line the file is known, so the
 * hint names it, quoted for a shell when it needs to be, and can be followed as printed.
 */
export function withPlanFile(hint: string, plan: string | undefined): string {
  if (plan === undefined) return hint;
  const quoted = /^[\w./@%+=:,-]+$/.test(plan) ? plan : `'${plan.replaceAll("'", `'\\''`)}'`;
  return hint.replace(/--plan <(?:file|plan)>/g, () => `--plan ${quoted}`);
}
