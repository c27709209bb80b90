import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandsFor, commandTable, registerCommands } from '../../src/cli/commands.js';

const names = commandTable.map(([name]) => name);

describe('the command table', () => {
  it('registers, for each name, the command of that name and no other', async () => {
    for (const name of names) {
      const program = new Command();
      await registerCommands(program, [name]);
      expect(program.commands.map((command) => command.name())).toEqual([name]);
    }
  });

  it('registers every command, in the table order, when help or an unknown command needs them', async () => {
    for (const args of [
      [],
      ['--help'],
      ['-h', 'sync'],
      ['help'],
      ['help', 'sycn'],
      ['sycn'],
      ['--plan', 'x'],
    ]) {
      expect(commandsFor(args).map(([name]) => name)).toEqual(names);
    }
    const program = new Command();
    await registerCommands(program, []);
    expect(program.commands.map((command) => command.name())).toEqual(names);
  });

  it('registers only the command that `help <command>` or `<command> …` names, and none for --version', () => {
    expect(commandsFor(['help', 'sync']).map(([name]) => name)).toEqual(['sync']);
    expect(commandsFor(['status', '--plan', 'x']).map(([name]) => name)).toEqual(['status']);
    expect(commandsFor(['demo', 'seed', '--help']).map(([name]) => name)).toEqual(['demo']);
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V'])).toEqual([]);
  });
});
