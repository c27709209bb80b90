import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { CarveError } from '../errors.js';
import { interpolate } from './interpolate.js';
import type { Plan } from './model.js';
import { normalizePlan } from './normalize.js';
import { formatPath, planInvalid, PlanProblemCode, type PlanLocation, type PlanProblem } from './problems.js';
import { planFileSchema } from './schema.js';

export interface LoadPlanOptions {
  /** Variables for `${VAR}`; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Read, interpolate, validate and normalize a plan file. Throws PLAN_INVALID listing every problem. */
export async function loadPlan(file: string, options: LoadPlanOptions = {}): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new CarveError('PLAN_UNREADABLE', `Cannot read plan file ${file}`, {
      details: { file },
      hint: 'Check the --plan path and its permissions.',
      cause,
    });
  }
  return parsePlan(text, { ...options, file });
}

/** The pure part of loadPlan: plan text in, Plan out. */
export function parsePlan(text: string, options: LoadPlanOptions & { file?: string } = {}): Plan {
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const problems: PlanProblem[] = [];
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    problems.push({
      code: duplicate ? PlanProblemCode.duplicateKey : PlanProblemCode.yamlSyntax,
      path: '',
      message: duplicate ? 'A key appears twice in the same mapping' : `YAML syntax error: ${error.message}`,
      hint: duplicate ? 'Keep one of the two entries.' : 'Fix the YAML at the position shown.',
      line: pos.line,
      column: pos.col,
      details: { yamlCode: error.code },
    });
  }
  if (problems.length > 0) throw planInvalid(problems, options.file);

  const locations: Record<string, PlanLocation> = {};
  collectLocations(doc.contents as Node | null, [], lineCounter, locations);
  const locate = (path: (string | number)[]): PlanLocation | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const found = locations[formatPath(path.slice(0, n))];
      if (found) return found;
    }
    return undefined;
  };
  const at = (path: (string | number)[]) => {
    const loc = locate(path);
    return loc ? { line: loc.line, column: loc.column } : {};
  };

  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw planInvalid(
      [
        {
          code: PlanProblemCode.invalidValue,
          path: '',
          message: 'The plan must be a YAML mapping with source, target and services',
          hint: 'See docs/plan-format.md for the format.',
          details: {},
        },
      ],
      options.file,
    );
  }

  const { value, missing } = interpolate(raw, env);
  for (const m of missing) {
    problems.push({
      code: PlanProblemCode.missingEnv,
      path: formatPath(m.path),
      message: `Environment variable ${m.variable} is not set`,
      hint: `Export ${m.variable} before running carve, or write the value into the plan.`,
      ...at(m.path),
      details: { variable: m.variable },
    });
  }

  const parsed = planFileSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    // A value still holding an unset ${VAR} is reported once, as the missing variable.
    const unset = new Set(missing.map((m) => formatPath(m.path)));
    const issues = parsed.error.issues.filter(
      (issue) => !unset.has(formatPath(issue.path as (string | number)[])),
    );
    problems.push(...issues.flatMap((issue) => problemsOfIssue(issue, at)));
  }
  if (problems.length > 0 || !parsed.success) throw planInvalid(sortProblems(problems), options.file);

  const fallbackName = options.file ? basename(options.file, extname(options.file)) : 'carve';
  const { plan, problems: nameProblems } = normalizePlan(parsed.data, {
    ...(options.file ? { file: options.file } : {}),
    fallbackName,
    locations,
  });
  if (nameProblems.length > 0)
    throw planInvalid(
      nameProblems.map((p) => ({ ...p, ...at([p.path]) })),
      options.file,
    );
  return plan;
}

type Issue = z.core.$ZodIssue;

function sortProblems(problems: PlanProblem[]): PlanProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function problemsOfIssue(issue: Issue, at: (path: (string | number)[]) => object): PlanProblem[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path);
    return issue.keys.map((key) => {
      const suggestion = closest(key, allowed);
      return {
        code: PlanProblemCode.unknownKey,
        path: formatPath([...path, key]),
        message: `Unknown key "${key}"`,
        hint: suggestion
          ? `Did you mean "${suggestion}"? Allowed here: ${allowed.join(', ')}.`
          : `Remove it; allowed here: ${allowed.join(', ')}.`,
        ...at([...path, key]),
        details: { key, allowed },
      };
    });
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    const key = path[path.length - 1];
    return [
      {
        code: PlanProblemCode.missingKey,
        path: formatPath(path),
        message: `Missing required key "${String(key)}"`,
        hint: `Add ${String(key)} (expected ${issue.expected}).`,
        ...at(path),
        details: { key, expected: issue.expected },
      },
    ];
  }
  return [
    {
      code: PlanProblemCode.invalidValue,
      path: formatPath(path),
      message: `Invalid value: ${issue.message}`,
      hint: 'Correct the value; see docs/plan-format.md.',
      ...at(path),
      details: { reason: issue.message, zodCode: issue.code },
    },
  ];
}

/** The keys the schema accepts at a path, for "did you mean" hints. */
function allowedKeys(path: (string | number)[]): string[] {
  // Under services and projections every other segment is a name; events has fixed keys only.
  const shape =
    path[0] === 'events'
      ? path.join('/')
      : path.map((p, i) => (i % 2 === 1 || typeof p === 'number' ? '*' : p)).join('/');
  switch (shape) {
    case '':
      return ['name', 'source', 'target', 'schema_changes', 'services', 'projections', 'exclude', 'events'];
    case 'events':
      return ['kafka', 'nats', 'tables', 'schemas', 'snapshot', 'sync_completed'];
    case 'events/nats':
      return ['servers', 'subject_prefix', 'stream', 'duplicate_window', 'replicas'];
    case 'events/kafka':
      return ['brokers', 'topic_prefix', 'client_id', 'partitions', 'replication_factor'];
    case 'events/sync_completed':
      return ['topic', 'entity'];
    case 'services/*':
      return [
        'database',
        'role',
        'password_env',
        'carve_role',
        'carve_password_env',
        'target',
        'readonly',
        'audit_table',
        'tables',
      ];
    case 'services/*/tables/*':
      return ['from', 'schema', 'columns', 'drop'];
    case 'services/*/tables/*/columns/*':
      return ['from'];
    case 'projections/*':
      return ['from', 'schema', 'to', 'columns'];
    case 'exclude/*':
      return ['table', 'schema'];
    default:
      return [];
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Record the position of every key and sequence item, by its formatted path. */
function collectLocations(
  node: Node | null,
  path: (string | number)[],
  lineCounter: LineCounter,
  out: Record<string, PlanLocation>,
): void {
  if (!node) return;
  const record = (p: (string | number)[], offset: number | undefined) => {
    if (offset === undefined) return;
    const pos = lineCounter.linePos(offset);
    out[formatPath(p)] ??= { line: pos.line, column: pos.col };
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyNode = pair.key as Node | null;
      record([...path, key], keyNode?.range?.[0]);
      collectLocations(pair.value as Node | null, [...path, key], lineCounter, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const itemNode = item as Node | null;
      record([...path, i], itemNode?.range?.[0]);
      collectLocations(itemNode, [...path, i], lineCounter, out);
    });
  }
}
