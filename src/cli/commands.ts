import type { Command } from 'commander';

/** Every command registers itself here; each lives in its own file under src/cli/. */
export function registerCommands(_program: Command): void {}
