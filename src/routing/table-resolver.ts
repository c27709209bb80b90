import type { Catalog, CatalogTable } from '../catalog/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';

export type Resolution = { table: CatalogTable } | { problem: PlanProblem };

/**
 * Finds the monolith table a plan names. Without an explicit schema a name means the table in
 * `public`, or else the only schema that has it; two candidates elsewhere are ambiguous.
 */
export class TableResolver {
  private readonly byName = new Map<string, CatalogTable[]>();

  constructor(
    catalog: Catalog,
    private readonly ignoredSchema: string,
  ) {
    for (const table of catalog.tables) {
      if (table.schema === ignoredSchema) continue;
      this.byName.set(table.name, [...(this.byName.get(table.name) ?? []), table]);
    }
  }

  resolve(name: string, schema: string | undefined, path: string): Resolution {
    const candidates = this.byName.get(name) ?? [];
    if (schema !== undefined) {
      const found = candidates.find((t) => t.schema === schema);
      if (found) return { table: found };
      return { problem: this.unknown(name, schema, path) };
    }
    const inPublic = candidates.find((t) => t.schema === 'public');
    if (inPublic) return { table: inPublic };
    if (candidates.length === 1) return { table: candidates[0]! };
    if (candidates.length === 0) return { problem: this.unknown(name, undefined, path) };
    const schemas = candidates.map((t) => t.schema);
    return {
      problem: {
        code: PlanProblemCode.ambiguousTable,
        path,
        object: name,
        message: `Table ${name} exists in several schemas (${schemas.join(', ')})`,
        hint: 'Add `schema:` to say which one.',
        details: { table: name, schemas },
      },
    };
  }

  private unknown(name: string, schema: string | undefined, path: string): PlanProblem {
    const qualified = schema ? `${schema}.${name}` : name;
    const near = [...this.byName.keys()].filter((n) => similar(n, name)).slice(0, 3);
    return {
      code: PlanProblemCode.unknownTable,
      path,
      object: qualified,
      message: `Table ${qualified} does not exist in the monolith`,
      hint: near.length
        ? `Did you mean ${near.join(' or ')}?`
        : 'Check the name against the monolith (`\\dt` in psql).',
      details: { table: name, ...(schema ? { schema } : {}) },
    };
  }
}

/** Loose similarity for "did you mean": same name ignoring case, or one or two edits apart. */
export function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  if (Math.abs(x.length - y.length) > 2) return false;
  const row = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (x[i - 1] === y[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[y.length]! <= 2;
}
