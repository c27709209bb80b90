import { quoteIdent, quoteQualified } from '../../pg/quote.js';
import type { Routing } from '../../routing/model.js';
import { CARESYNC_SCHEMA } from '../caresync-tables.js';

/**
 * The load generator's service-routed mode: where each CareSync table is written at this moment.
 * A table whose owning service has moved (cut over) is written in that service's database, under
 * the name and column names the plan gives it there; every other table in the monolith.
 */
export interface TableDestination {
  /** The service database: one connection pool per database. */
  database: string;
  url: string;
  /** The table in that database. */
  table: { schema: string; name: string };
  /** Monolith column → service column, for the columns the plan renames. */
  columns: Readonly<Record<string, string>>;
}

/**
 * Where writes to a monolith table (`public.<table>`, by its bare name) go now; undefined: the
 * monolith. Called for every statement, so a change takes effect on the next statement.
 */
export type TableRouter = (table: string) => TableDestination | undefined;

/**
 * The SQL of a load statement on `public.<table>`, rewritten for its destination: the table name,
 * and each renamed column as a whole word. The load's SQL is carve's own (operations-*.ts), which
 * names every table as `public.<name>` (or quoted, `"public"."<name>"`) and never uses a column name as a string literal.
 */
export function rewriteForDestination(sql: string, table: string, destination: TableDestination): string {
  // Written as public.name or, by pick(), quoted: "public"."name".
  const schema = escapeRegExp(CARESYNC_SCHEMA);
  const name = escapeRegExp(table);
  const monolithName = new RegExp(
    `(?<![\\w"])(?:${schema}|"${schema}")\\.(?:${name}\\b(?!")|"${name}")`,
    'g',
  );
  let out = sql.replace(monolithName, quoteQualified(destination.table.schema, destination.table.name));
  for (const [from, to] of Object.entries(destination.columns))
    out = out.replace(new RegExp(`(?<![."\\w])${escapeRegExp(from)}\\b`, 'g'), quoteIdent(to));
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The destinations of a plan's tables for a set of moved services (service name → URL the load
 * connects to for that service's database). Tables are keyed by their monolith name in the
 * CareSync schema; projections are never written.
 */
export function destinationsFor(
  routing: Routing,
  moved: ReadonlyMap<string, string>,
): Map<string, TableDestination> {
  const out = new Map<string, TableDestination>();
  for (const route of routing.routes) {
    if (route.kind !== 'owned' || route.source.schema !== CARESYNC_SCHEMA) continue;
    const url = moved.get(route.service);
    if (url === undefined) continue;
    const columns: Record<string, string> = {};
    for (const c of route.columns) if (c.source !== c.target) columns[c.source] = c.target;
    out.set(route.source.name, { database: route.database, url, table: { ...route.target }, columns });
  }
  return out;
}

/**
 * A router the caller updates as services move: `move(service, url)` at cutover, `restore(service)`
 * at rollback; `router` reads the current state on every statement.
 */
export class ServiceRoutedTables {
  private moved = new Map<string, string>();
  private destinations = new Map<string, TableDestination>();

  constructor(private readonly routing: Routing) {}

  readonly router: TableRouter = (table) => this.destinations.get(table);

  /** The services written in their own database now. */
  services(): string[] {
    return [...this.moved.keys()];
  }

  move(service: string, url: string): void {
    if (!this.routing.services.some((s) => s.name === service)) throw new Error(`unknown service ${service}`);
    this.moved.set(service, url);
    this.destinations = destinationsFor(this.routing, this.moved);
  }

  restore(service: string): void {
    this.moved.delete(service);
    this.destinations = destinationsFor(this.routing, this.moved);
  }

  /** Replace the whole set (e.g. from carve's state, polled). */
  set(moved: ReadonlyMap<string, string>): void {
    this.moved = new Map(moved);
    this.destinations = destinationsFor(this.routing, this.moved);
  }
}

/**
 * `--service-url` values: `service=URL` (the load writes that service's tables at URL) or a bare
 * `service` (at the URL the plan gives carve for it). Returns service → URL or null (plan's URL),
 * and the values it could not read.
 */
export function parseServiceUrls(values: readonly string[]): {
  services: Map<string, string | null>;
  invalid: string[];
} {
  const services = new Map<string, string | null>();
  const invalid: string[] = [];
  for (const value of values.flatMap((v) => v.split(/,(?=[A-Za-z0-9_-]+(?:=|$))/))) {
    const at = value.indexOf('=');
    const name = (at < 0 ? value : value.slice(0, at)).trim();
    const url = at < 0 ? null : value.slice(at + 1).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(name) || url === '') invalid.push(value);
    else services.set(name, url);
  }
  return { services, invalid };
}
