import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands.js';
import { exitAfterOutput, reportError } from './run-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('carve')
  .description('Split a monolithic PostgreSQL database into per-service databases, online.')
  .version(pkg.version)
  .showHelpAfterError();

registerCommands(program);

// Commands report their own errors (runCommand); this catches what fails outside them.
program.parseAsync(process.argv).catch((error: unknown) => exitAfterOutput(reportError(error)));
