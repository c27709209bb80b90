import type { Command } from 'commander';

/** Imports a command's module and returns the function that registers it. */
type Load = () => Promise<(program: Command) => void>;

/**
 * Every command, in the order `carve --help` lists them, with the import of the file under src/cli/
 * that registers it. The imports are dynamic so that a process loads only the command it runs (each
 * register module pulls in its engine): loading all of them cost ~0.4 s of CPU on every start.
 */
export const commandTable: ReadonlyArray<readonly [name: string, load: Load]> = [
  ['plan', async () => (await import('./plan.js')).registerPlanCommand],
  ['provision', async () => (await import('./provision.js')).registerProvisionCommand],
  ['copy', async () => (await import('./copy.js')).registerCopyCommand],
  ['sync', async () => (await import('./sync.js')).registerSyncCommand],
  ['resync', async () => (await import('./resync.js')).registerResyncCommand],
  ['apply', async () => (await import('./apply.js')).registerApplyCommand],
  ['migrate', async () => (await import('./migrate.js')).registerMigrateCommand],
  ['status', async () => (await import('./status.js')).registerStatusCommand],
  ['verify', async () => (await import('./verify.js')).registerVerifyCommand],
  ['cutover', async () => (await import('./cutover.js')).registerCutoverCommand],
  ['rollback', async () => (await import('./rollback.js')).registerRollbackCommand],
  ['complete', async () => (await import('./complete.js')).registerCompleteCommand],
  ['cancel', async () => (await import('./cancel.js')).registerCancelCommand],
  ['teardown', async () => (await import('./teardown.js')).registerTeardownCommand],
  ['backup', async () => (await import('./backup.js')).registerBackupCommand],
  ['recover', async () => (await import('./recover.js')).registerRecoverCommand],
  ['alerts', async () => (await import('./alerts.js')).registerAlertsCommand],
  ['serve', async () => (await import('./serve.js')).registerServeCommand],
  [
    'demo',
    async () => {
      const [{ registerDemoCommand }, { attachDemoRunAction }] = await Promise.all([
        import('./demo.js'),
        import('./demo-run.js'),
      ]);
      return (program) => attachDemoRunAction(registerDemoCommand(program));
    },
  ],
];

/**
 * Which commands a run needs: the one named first in argv; none for a bare `--version`; every one
 * otherwise (`carve`, `carve --help`, `carve help`, an unknown or misspelt command), so that
 * commander's help lists them all and its "unknown command" error can suggest the closest. `carve
 * help <command>` needs only that command.
 */
export function commandsFor(args: readonly string[]): ReadonlyArray<readonly [string, Load]> {
  const named = (name: string | undefined) => commandTable.filter(([n]) => n === name);
  const [first, second] = args;
  if (first === 'help' && args.length === 2 && named(second).length === 1) return named(second);
  if (named(first).length === 1) return named(first);
  if (args.length > 0 && args.every((arg) => arg === '--version' || arg === '-V')) return [];
  return commandTable;
}

/** Register the commands that `args` (argv after the script) needs, in the table's order. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  // Imported together (one wait), registered in the table's order (the order help lists them).
  const registers = await Promise.all(commandsFor(args).map(([, load]) => load()));
  for (const register of registers) register(program);
}
