/**
 * Every failure carve reports to an operator is a CarveError: a stable `code` that tests and
 * scripts match on, the objects involved in `details`, and a `hint` that says what to do next.
 * Messages are for people; never branch on them.
 */
export class CarveError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly hint: string | undefined;

  constructor(
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarveError';
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
    this.hint = options.hint;
  }

  /** Message plus hint, as printed by the CLI. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

export function isCarveError(error: unknown, code?: string): error is CarveError {
  return error instanceof CarveError && (code === undefined || error.code === code);
}

/** Best-effort text for any thrown value (pg errors, strings, undefined). */
export function errorText(error: unknown): string {
  if (error instanceof CarveError) return error.describe();
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
