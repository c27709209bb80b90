import { Command } from 'commander';
import { registerCommands } from './commands.js';
import { exitAfterOutput, reportError } from './run-command.js';
import { carveVersion } from '../version.js';

const program = new Command()
  .name('carve')
  .description('Split a monolithic PostgreSQL database into per-service databases, online.')
  .version(carveVersion)
  .showHelpAfterError();

registerCommands(program);

// Commands report their own errors (runCommand); this catches what fails outside them.
program.parseAsync(process.argv).catch((error: unknown) => exitAfterOutput(reportError(error)));
