import { Command } from 'commander';
import { registerCommands } from './commands.js';
import { ExitCode } from './exit.js';
import { carveVersion } from '../version.js';

const program = new Command()
  .name('carve')
  .description('Split a monolithic PostgreSQL database into per-service databases, online.')
  .version(carveVersion)
  .showHelpAfterError()
  // A flag commander itself refuses (unknown, missing, without its value) or an unknown command is
  // a usage error like the ones carve's own checks find: exit 2 (docs/errors.md), not commander's 1.
  // Set before the commands are registered, so each one inherits it.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage));

// Only the commands this run needs are loaded (commands.ts says which).
await registerCommands(program, process.argv.slice(2));

// Commands report their own errors (runCommand); this catches what fails outside them.
program.parseAsync(process.argv).catch(async (error: unknown) => {
  const { exitAfterOutput, reportError } = await import('./run-command.js');
  return exitAfterOutput(reportError(error));
});
