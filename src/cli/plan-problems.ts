import type { PlanProblem } from '../plan/problems.js';

/** Every problem of an invalid plan, located in the file, as `carve plan` prints them. */
export function renderProblems(problems: PlanProblem[], file?: string): string {
  const lines = [
    `carve: the plan${file ? ` ${file}` : ''} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was written.`,
  ];
  for (const p of problems) {
    const at = [file ?? 'plan', p.line, p.column].filter((x) => x !== undefined).join(':');
    lines.push(`${at}: ${p.code} at ${p.path || '<top>'}${p.object ? ` [${p.object}]` : ''}`);
    lines.push(`    ${p.message}`);
    lines.push(`    → ${p.hint}`);
  }
  return `${lines.join('\n')}\n`;
}
