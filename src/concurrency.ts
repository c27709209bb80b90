/**
 * Bounded parallelism, shared by the engines (copy's setup and services, verify's segments and
 * foreign keys, preflight checks): the one place that decides how work is spread over connections.
 */

export interface MapLimitedOptions {
  /**
   * What a failure does to the items not started yet.
   * - 'finish' (default): every item still runs; then the first failure in item order (not in
   *   time) is thrown, so the error a user sees does not depend on which server answered first.
   * - 'stop': no new item starts after the first failure, which is thrown once the calls in
   *   flight have settled (a long run does not go on for nothing).
   */
  onFailure?: 'finish' | 'stop';
}

/** Run `fn` over `items` with at most `limit` calls in flight; results keep the items' order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: MapLimitedOptions = {},
): Promise<R[]> {
  const stopOnFailure = options.onFailure === 'stop';
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let firstInTime: { reason: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < items.length && !(stopOnFailure && firstInTime)) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
        firstInTime ??= { reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (stopOnFailure && firstInTime) throw firstInTime.reason;
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
