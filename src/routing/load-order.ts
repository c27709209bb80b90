/**
 * Topological order of route ids: every referenced table before the tables referencing it.
 * Ties keep the given order; self-references are ignored. Routes left in a cycle are appended
 * in the given order and reported, since their FKs are only added after the load anyway.
 */
export function loadOrder(
  ids: readonly string[],
  edges: readonly { from: string; to: string }[],
): { order: string[]; cycle: string[] } {
  const pending = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  for (const edge of edges) {
    if (edge.from === edge.to || !pending.has(edge.from) || !pending.has(edge.to)) continue;
    pending.get(edge.from)!.add(edge.to);
  }
  const order: string[] = [];
  const done = new Set<string>();
  for (;;) {
    const next = ids.find((id) => !done.has(id) && [...pending.get(id)!].every((dep) => done.has(dep)));
    if (next === undefined) break;
    order.push(next);
    done.add(next);
  }
  const cycle = ids.filter((id) => !done.has(id));
  return { order: [...order, ...cycle], cycle };
}
