import { CarveError } from '../../errors.js';
import type { RelationColumn, RelationMessage, ReplicaIdentitySetting } from './messages.js';

/**
 * The latest Relation message per relation id. pgoutput sends a Relation before a table's first
 * change in each streaming session and again whenever its definition changed, and Insert/Update/
 * Delete/Truncate refer to it only by id, so the decoder's consumer must keep these.
 */
export class RelationCache {
  private readonly relations = new Map<number, RelationMessage>();

  /**
   * Store `relation`; returns the difference to the previous definition of the same id, or
   * undefined the first time this id is seen (a new session resends every Relation, so "seen
   * before in this process" is not the same as "changed").
   */
  set(relation: RelationMessage): RelationDiff | undefined {
    const previous = this.relations.get(relation.relationId);
    this.relations.set(relation.relationId, relation);
    return previous === undefined ? undefined : diffRelations(previous, relation);
  }

  get(relationId: number): RelationMessage | undefined {
    return this.relations.get(relationId);
  }

  /** The relation for a change message; a missing one means the stream is broken, never "skip". */
  require(relationId: number): RelationMessage {
    const relation = this.relations.get(relationId);
    if (relation === undefined) {
      throw new CarveError(
        'PGOUTPUT_UNKNOWN_RELATION',
        `change for relation id ${relationId} arrived before its Relation message`,
        {
          details: { relationId },
          hint: 'The replication stream is inconsistent; restart sync from the last acknowledged position.',
        },
      );
    }
    return relation;
  }

  get size(): number {
    return this.relations.size;
  }

  clear(): void {
    this.relations.clear();
  }
}

export interface RetypedColumn {
  name: string;
  from: { typeOid: number; typeMod: number };
  to: { typeOid: number; typeMod: number };
}

/** What changed between two Relation messages of the same relation id. */
export interface RelationDiff {
  /** No difference at all (pgoutput resends unchanged Relations, e.g. after a reconnect). */
  identical: boolean;
  /** Schema or table name changed (ALTER TABLE … RENAME / SET SCHEMA). */
  renamed: { from: { schema: string; name: string }; to: { schema: string; name: string } } | null;
  /** Columns matched by name: a renamed column shows as one dropped and one added. */
  addedColumns: RelationColumn[];
  droppedColumns: RelationColumn[];
  retypedColumns: RetypedColumn[];
  /** Same columns, different order (only possible together with drops and adds of others). */
  reordered: boolean;
  keyChanged: boolean;
  keyBefore: string[];
  keyAfter: string[];
  replicaIdentityChanged: { from: ReplicaIdentitySetting; to: ReplicaIdentitySetting } | null;
}

/** Pure comparison of two definitions of one relation, for schema-change detection. */
export function diffRelations(before: RelationMessage, after: RelationMessage): RelationDiff {
  const beforeByName = new Map(before.columns.map((column) => [column.name, column]));
  const afterByName = new Map(after.columns.map((column) => [column.name, column]));
  const addedColumns = after.columns.filter((column) => !beforeByName.has(column.name));
  const droppedColumns = before.columns.filter((column) => !afterByName.has(column.name));
  const retypedColumns: RetypedColumn[] = [];
  for (const column of after.columns) {
    const old = beforeByName.get(column.name);
    if (old && (old.typeOid !== column.typeOid || old.typeMod !== column.typeMod)) {
      retypedColumns.push({
        name: column.name,
        from: { typeOid: old.typeOid, typeMod: old.typeMod },
        to: { typeOid: column.typeOid, typeMod: column.typeMod },
      });
    }
  }
  const keptBefore = before.columns
    .filter((column) => afterByName.has(column.name))
    .map((column) => column.name);
  const keptAfter = after.columns
    .filter((column) => beforeByName.has(column.name))
    .map((column) => column.name);
  const reordered = keptBefore.some((name, i) => keptAfter[i] !== name);
  const keyBefore = before.columns.filter((column) => column.isKey).map((column) => column.name);
  const keyAfter = after.columns.filter((column) => column.isKey).map((column) => column.name);
  const keyChanged =
    keyBefore.length !== keyAfter.length || keyBefore.some((name, i) => keyAfter[i] !== name);
  const renamed =
    before.schema !== after.schema || before.name !== after.name
      ? { from: { schema: before.schema, name: before.name }, to: { schema: after.schema, name: after.name } }
      : null;
  const replicaIdentityChanged =
    before.replicaIdentity !== after.replicaIdentity
      ? { from: before.replicaIdentity, to: after.replicaIdentity }
      : null;
  const flagsChanged = after.columns.some((column) => {
    const old = beforeByName.get(column.name);
    return old !== undefined && old.flags !== column.flags;
  });
  const identical =
    !renamed &&
    !replicaIdentityChanged &&
    addedColumns.length === 0 &&
    droppedColumns.length === 0 &&
    retypedColumns.length === 0 &&
    !reordered &&
    !keyChanged &&
    !flagsChanged;
  return {
    identical,
    renamed,
    addedColumns,
    droppedColumns,
    retypedColumns,
    reordered,
    keyChanged,
    keyBefore,
    keyAfter,
    replicaIdentityChanged,
  };
}
