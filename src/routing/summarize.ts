import type { TableRef } from '../catalog/model.js';
import { redactUrl } from '../pg/connect.js';
import type { PlanWarning, Routing, TableRoute } from './model.js';

/** What `carve plan` shows: plain, JSON-ready data, secrets redacted. */
export interface RoutingSummary {
  migration: string;
  slot: string;
  publication: string;
  stateSchema: string;
  source: string;
  schemaChanges: string;
  databases: DatabaseSummary[];
  cutForeignKeys: { name: string; from: FkEnd; to: FkEnd }[];
  excluded: string[];
  warnings: PlanWarning[];
  totals: {
    databases: number;
    tables: number;
    projections: number;
    keptForeignKeys: number;
    cutForeignKeys: number;
  };
}

export interface FkEnd {
  database: string;
  table: string;
  columns: string[];
}

export interface DatabaseSummary {
  service: string;
  database: string;
  /** carve's session URL for this database (as carveRole), passwords redacted. */
  url: string;
  role: string;
  carveRole: string;
  readonly: boolean;
  auditTable?: string;
  /** In load order. */
  tables: TableSummary[];
  keptForeignKeys: { name: string; from: string; columns: string[]; to: string; toColumns: string[] }[];
  /** Cut FKs with one end in this database. */
  cutForeignKeys: { name: string; direction: 'outgoing' | 'incoming'; from: FkEnd; to: FkEnd }[];
}

export interface TableSummary {
  id: string;
  kind: 'owned' | 'projection';
  target: string;
  source: string;
  renamed: { from: string; to: string }[];
  dropped: string[];
  columns: string[];
  key: string[];
  partitions: number;
  /**
   * Objects declared on single partitions, recreated on them: `unique|primary key|index|check
   * <name> on <partition>` and `not null <column> on <partition>`. Foreign keys declared on
   * partitions are in the kept and cut lists.
   */
  partitionObjects: string[];
  rowEstimate: number;
  totalBytes: number;
}

const q = (t: TableRef) => `${t.schema}.${t.name}`;

export function summarizeRouting(routing: Routing): RoutingSummary {
  const cut = routing.cutForeignKeys.map((c) => ({
    name: c.name,
    from: { database: c.from.database, table: q(c.from.table), columns: c.from.columns },
    to: { database: c.to.database, table: q(c.to.table), columns: c.to.columns },
  }));
  const databases = routing.services.map((s): DatabaseSummary => {
    const byId = new Map(s.tables.map((r) => [r.id, r]));
    return {
      service: s.name,
      database: s.database,
      url: redactUrl(s.url),
      role: s.role,
      carveRole: s.carveRole,
      readonly: s.readonly,
      ...(s.auditTable ? { auditTable: q(s.auditTable) } : {}),
      tables: s.loadOrder.map((id) => {
        const r = byId.get(id)!;
        return {
          id,
          kind: r.kind,
          target: q(r.target),
          source: q(r.source),
          renamed: r.columns
            .filter((c) => c.source !== c.target)
            .map((c) => ({ from: c.source, to: c.target })),
          dropped: r.droppedColumns ?? [],
          columns: r.columns.map((c) => c.target),
          key: r.key.map((k) => r.columns.find((c) => c.source === k)?.target ?? k),
          partitions: r.sourcePartitions.length,
          partitionObjects: partitionObjects(r),
          rowEstimate: r.sourceTable.rowEstimate,
          totalBytes: r.sourceTable.totalBytes,
        };
      }),
      keptForeignKeys: s.keptForeignKeys.map((k) => ({
        name: k.name,
        from: q(k.from),
        columns: k.columns,
        to: q(k.to),
        toColumns: k.toColumns,
      })),
      cutForeignKeys: cut
        .filter((c) => c.from.database === s.database || c.to.database === s.database)
        .map((c) => ({
          ...c,
          direction: c.from.database === s.database ? ('outgoing' as const) : ('incoming' as const),
        })),
    };
  });
  return {
    migration: routing.names.migration,
    slot: routing.names.slot,
    publication: routing.names.publication,
    stateSchema: routing.names.stateSchema,
    source: redactUrl(routing.sourceUrl),
    schemaChanges: routing.schemaChanges ?? 'apply_compatible',
    databases,
    cutForeignKeys: cut,
    excluded: routing.excluded.map(q),
    warnings: routing.warnings,
    totals: {
      databases: routing.services.length,
      tables: routing.routes.filter((r) => r.kind === 'owned').length,
      projections: routing.routes.filter((r) => r.kind === 'projection').length,
      keptForeignKeys: routing.services.reduce((n, s) => n + s.keptForeignKeys.length, 0),
      cutForeignKeys: routing.cutForeignKeys.length,
    },
  };
}

function partitionObjects(route: TableRoute): string[] {
  const target = (source: string) => route.columns.find((c) => c.source === source)?.target ?? source;
  return (route.partitionTree ?? []).flatMap((p) => {
    const on = ` on ${q(p.table)}`;
    return [
      ...p.keys.map(
        (k) => `${k.definition.startsWith('PRIMARY KEY') ? 'primary key' : 'unique'} ${k.name}${on}`,
      ),
      ...p.indexes.map((i) => `index ${i.name}${on}`),
      ...p.checks.map((c) => `check ${c.name}${on}`),
      ...p.notNull.map((c) => `not null ${target(c)}${on}`),
    ];
  });
}
