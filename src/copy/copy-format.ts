import type { TableRoute } from '../routing/model.js';

/** First OID of objects created after initdb: user types, extension types. */
const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * Binary COPY is the fastest path, but the binary form of arrays and composites embeds type OIDs,
 * and a user type's OID differs between the monolith and the target (array_recv rejects it).
 * Such tables are copied in text format instead.
 */
export function copyFormatFor(route: TableRoute): 'binary' | 'text' {
  for (const routed of route.columns) {
    const column = route.sourceTable.columns.find((c) => c.name === routed.source);
    if (!column) continue;
    const userDefined = column.typeOid >= FIRST_NORMAL_OBJECT_ID;
    if (userDefined && (column.type.endsWith('[]') || column.userType?.kind === 'composite')) return 'text';
  }
  return 'binary';
}
