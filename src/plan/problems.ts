import { CarveError } from '../errors.js';

/** Stable codes of everything that can be wrong with a plan, checked before any write. */
export const PlanProblemCode = {
  yamlSyntax: 'PLAN_YAML_SYNTAX',
  duplicateKey: 'PLAN_DUPLICATE_KEY',
  unknownKey: 'PLAN_UNKNOWN_KEY',
  missingKey: 'PLAN_MISSING_KEY',
  invalidValue: 'PLAN_INVALID_VALUE',
  missingEnv: 'PLAN_MISSING_ENV',
  invalidName: 'PLAN_INVALID_NAME',
  nameTooLong: 'PLAN_NAME_TOO_LONG',
  unknownTable: 'PLAN_UNKNOWN_TABLE',
  ambiguousTable: 'PLAN_AMBIGUOUS_TABLE',
  unknownColumn: 'PLAN_UNKNOWN_COLUMN',
  unknownService: 'PLAN_UNKNOWN_SERVICE',
  emptyService: 'PLAN_SERVICE_EMPTY',
  tableOwnedTwice: 'PLAN_TABLE_OWNED_TWICE',
  tableUnassigned: 'PLAN_TABLE_UNASSIGNED',
  excludedAndOwned: 'PLAN_TABLE_EXCLUDED_AND_OWNED',
  partitionPlaced: 'PLAN_PARTITION_PLACED',
  noUsableKey: 'PLAN_NO_USABLE_KEY',
  columnCollision: 'PLAN_COLUMN_COLLISION',
  droppedColumnNeeded: 'PLAN_DROPPED_COLUMN_NEEDED',
  projectionKeyMissing: 'PLAN_PROJECTION_KEY_MISSING',
  projectionSource: 'PLAN_PROJECTION_SOURCE',
  duplicateTargetTable: 'PLAN_DUPLICATE_TARGET_TABLE',
  duplicateDatabase: 'PLAN_DUPLICATE_DATABASE',
  duplicateRole: 'PLAN_DUPLICATE_ROLE',
  unsupportedType: 'PLAN_UNSUPPORTED_TYPE',
  eventsTableNotRouted: 'PLAN_EVENTS_TABLE_NOT_ROUTED',
  eventsTopicCollision: 'PLAN_EVENTS_TOPIC_COLLISION',
  eventsColumnNotPublished: 'PLAN_EVENTS_COLUMN_NOT_PUBLISHED',
} as const;

export type PlanProblemCodeValue = (typeof PlanProblemCode)[keyof typeof PlanProblemCode];

export interface PlanLocation {
  line: number;
  column: number;
}

/** One thing wrong with a plan: where in the file, which object, what to do. */
export interface PlanProblem {
  code: PlanProblemCodeValue;
  /** Path of the offending key in the plan file, e.g. `services.patient.tables.allergies.columns.severity.from`. */
  path: string;
  /** The database object concerned (`public.patient_allergies`, `public.profiles.email`), when there is one. */
  object?: string;
  message: string;
  hint: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
  /** Code-specific fields tests and scripts can match on. */
  details: Record<string, unknown>;
}

/** Format a path segment list the way problems report it: `a.b[0]["odd key"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The error thrown for an invalid plan: every problem at once, in `details.problems`. */
export function planInvalid(problems: PlanProblem[], file?: string): CarveError {
  const where = file ? `Plan ${file}` : 'The plan';
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const list = problems.map((p) => `  - ${describeProblem(p)}`).join('\n');
  return new CarveError('PLAN_INVALID', `${where} has ${count}:\n${list}`, {
    details: { file, problems },
    hint: 'Fix every problem listed, then run `carve plan` again. Nothing was written.',
  });
}

/** One line for a problem: `path (line:col): message → hint`. */
export function describeProblem(p: PlanProblem): string {
  const at = p.line !== undefined ? ` (line ${p.line}, column ${p.column ?? 1})` : '';
  return `${p.path || '<plan>'}${at}: ${p.message} → ${p.hint}`;
}
