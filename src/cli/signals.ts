/**
 * SIGINT/SIGTERM become an AbortSignal: engines stop taking new work, finish or roll back what is in
 * flight, and return; the command then exits with "incomplete". A second signal exits at once
 * (everything carve writes is transactional, so that is safe too).
 */
export function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\ncarve: ${signal} received, stopping (again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
