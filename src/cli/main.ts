import { Command, type Option } from 'commander';
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
reportUnknownOptionsFirst(program);

// Commands report their own errors (runCommand); this catches what fails outside them.
program.parseAsync(process.argv).catch(async (error: unknown) => {
  const { exitAfterOutput, reportError } = await import('./run-command.js');
  return exitAfterOutput(reportError(error));
});

/**
 * Commander checks required options before unknown ones, so `carve provision --plna x` said
 * "required option '--plan <file>' not specified" and never named the typo; it has no setting to
 * change that order. So the required options are checked here instead, in a preAction hook, which
 * commander runs after its unknown-option check: `--plna` is reported first (with "Did you mean
 * --plan?"), and a plain missing --plan still gets commander's own message, through .error() (exit 2
 * and the help, as before).
 */
function reportUnknownOptionsFirst(root: Command): void {
  const required = new Map<Command, Option[]>();
  const visit = (command: Command) => {
    const options = command.options.filter((option) => option.mandatory);
    for (const option of options) option.mandatory = false;
    if (options.length) required.set(command, options);
    command.commands.forEach(visit);
  };
  visit(root);
  root.hook('preAction', (_root, action) => {
    for (const option of required.get(action) ?? [])
      if (action.getOptionValue(option.attributeName()) === undefined)
        action.error(`error: required option '${option.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
  });
}
