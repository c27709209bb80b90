import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands.js';
import { reportAndExit } from './exit.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('carve')
  .description('Split a monolithic PostgreSQL database into per-service databases, online.')
  .version(pkg.version)
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch(reportAndExit);
