/**
 * Run `fn` over `items` with at most `limit` calls in flight; results keep the items' order.
 * Every call runs to completion; then the first failure in item order (not in time) is thrown,
 * so the error a user sees does not depend on which server answered first.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        try {
          results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
        } catch (reason) {
          results[i] = { status: 'rejected', reason };
        }
      }
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
