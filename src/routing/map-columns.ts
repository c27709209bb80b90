import type { CatalogTable } from '../catalog/model.js';
import type { PlanTable } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import type { RoutedColumn } from './model.js';
import { similar } from './table-resolver.js';

export interface ColumnMapping {
  /** Kept columns in source order, with their target names. */
  columns: RoutedColumn[];
  /** Source names of dropped columns. */
  dropped: string[];
  problems: PlanProblem[];
}

const qualified = (t: CatalogTable) => `${t.schema}.${t.name}`;

/** Apply a plan table's renames and drops to the source columns, reporting every conflict. */
export function mapColumns(table: CatalogTable, planTable: PlanTable): ColumnMapping {
  const problems: PlanProblem[] = [];
  const exists = new Set(table.columns.map((c) => c.name));
  const unknown = (column: string, path: string) => {
    const near = table.columns.map((c) => c.name).filter((n) => similar(n, column));
    problems.push({
      code: PlanProblemCode.unknownColumn,
      path,
      object: `${qualified(table)}.${column}`,
      message: `Column ${column} does not exist in ${qualified(table)}`,
      hint: near.length ? `Did you mean ${near.join(' or ')}?` : `Columns are: ${[...exists].join(', ')}.`,
      details: { table: qualified(table), column },
    });
  };
  const collision = (target: string, sources: string[], path: string, reason: string) =>
    problems.push({
      code: PlanProblemCode.columnCollision,
      path,
      object: `${qualified(table)}.${target}`,
      message: `In ${planTable.name}, ${reason}`,
      hint: 'Give every kept column a distinct target name (rename or drop the other one).',
      details: { table: qualified(table), column: target, sources, reason },
    });

  const dropped = new Set<string>();
  for (const d of planTable.drop) {
    if (!exists.has(d.name)) unknown(d.name, d.path);
    else dropped.add(d.name);
  }
  const renamed = new Map<string, string>();
  for (const r of planTable.columns) {
    if (!exists.has(r.from)) {
      unknown(r.from, r.path);
      continue;
    }
    if (dropped.has(r.from)) {
      collision(r.target, [r.from], r.path, `column ${r.from} is both renamed to ${r.target} and dropped`);
      continue;
    }
    const earlier = renamed.get(r.from);
    if (earlier !== undefined) {
      collision(
        r.target,
        [r.from],
        r.path,
        `column ${r.from} is renamed twice (to ${earlier} and ${r.target})`,
      );
      continue;
    }
    renamed.set(r.from, r.target);
  }

  const columns: RoutedColumn[] = [];
  const byTarget = new Map<string, string>();
  for (const column of table.columns) {
    if (dropped.has(column.name)) continue;
    const target = renamed.get(column.name) ?? column.name;
    const other = byTarget.get(target);
    if (other !== undefined) {
      const rename = planTable.columns.find((r) => r.target === target);
      collision(
        target,
        [other, column.name],
        rename?.path ?? planTable.path,
        `columns ${other} and ${column.name} would both be called ${target}`,
      );
      continue;
    }
    byTarget.set(target, column.name);
    columns.push({
      source: column.name,
      target,
      type: column.type,
      generated: column.generated !== undefined,
    });
  }
  return { columns, dropped: [...dropped], problems };
}
