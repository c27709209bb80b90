import type { CarveErrorCode, ErrorDetails } from './error-catalogue.js';

export type { CarveErrorCode, ErrorDetails, ExitCategory } from './error-catalogue.js';

export interface CarveErrorOptions<C extends CarveErrorCode> {
  details?: ErrorDetails<C>;
  hint?: string;
  cause?: unknown;
  /** Retrying the same work on a new connection can succeed (a lost connection, a restarting server). */
  transient?: boolean;
  /** The server's SQLSTATE, when this error stands for one the server sent. */
  sqlState?: string;
}

/**
 * Every failure carve reports to an operator is a CarveError: a stable `code` from the catalogue
 * (src/error-catalogue.ts) that tests and scripts match on, the objects involved in `details`
 * (typed per code where callers read them), and a `hint` that says what to do next.
 * Messages are for people; never branch on them.
 */
export class CarveError<C extends CarveErrorCode = CarveErrorCode> extends Error {
  readonly code: C;
  readonly details: Readonly<ErrorDetails<C>>;
  readonly hint: string | undefined;
  readonly transient: boolean;
  readonly sqlState: string | undefined;

  constructor(code: C, message: string, options: CarveErrorOptions<C> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarveError';
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) }) as Readonly<ErrorDetails<C>>;
    this.hint = options.hint;
    this.transient = options.transient ?? false;
    this.sqlState = options.sqlState;
  }

  /** Message plus hint, as printed by the CLI. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

/** Narrow to a CarveError, and with `code` to that code's error (its details typed). */
export function isCarveError<C extends CarveErrorCode = CarveErrorCode>(
  error: unknown,
  code?: C,
): error is CarveError<C> {
  return error instanceof CarveError && (code === undefined || error.code === code);
}

/** The service database an error names in its details, if it names one. */
export function databaseOf(error: CarveError): string | undefined {
  const details: Readonly<Record<string, unknown>> = error.details;
  return typeof details.database === 'string' ? details.database : undefined;
}

/** Best-effort text for any thrown value (pg errors, strings, undefined). */
export function errorText(error: unknown): string {
  if (error instanceof CarveError) return error.describe();
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
