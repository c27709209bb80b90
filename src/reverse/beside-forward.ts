import type { ReverseSyncOptions } from './options.js';
import { startReverseSync } from './reverse-engine.js';

/**
 * Run every registered reverse stream next to a forward sync engine, in the same process, for as
 * long as the forward engine runs (`carve sync`, `carve migrate --follow`): one process keeps both
 * directions. Resolves with the forward engine's result once it ends (the reverse streams are
 * stopped then); a reverse stream that fails for good stops the forward engine and its error is
 * thrown, so the command fails loudly instead of running with the monolith falling behind.
 */
export async function runBesideForward<T>(
  forward: { readonly done: Promise<T>; stop(): Promise<unknown> },
  options: ReverseSyncOptions,
): Promise<T> {
  const reverse = await startReverseSync(options).catch(async (error: unknown) => {
    await forward.stop().catch(() => {});
    throw error;
  });
  let failed: { error: unknown } | undefined;
  reverse.done.catch((error: unknown) => {
    failed = { error };
    void forward.stop().catch(() => {});
  });
  try {
    const result = await forward.done;
    if (failed) throw failed.error;
    return result;
  } finally {
    await reverse.stop().catch(() => {});
  }
}
