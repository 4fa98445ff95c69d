import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../shared/cli/main';
import type { Output } from '../../../shared/cli/output';

const silent: Output = { line: () => undefined, json: () => undefined, error: () => undefined };

/** Every command under `command`, by its full name (`templates put`). */
function commandsOf(command: Command, prefix = ''): [string, Command][] {
  return command.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return [[name, c] as [string, Command], ...commandsOf(c, `${name} `)];
  });
}

describe('the tunewire program', () => {
  const program = buildProgram({ io: silent, home: '/nonexistent', env: {}, result: { code: 0 } });

  it('describes every command and subcommand', () => {
    const commands = commandsOf(program);
    expect(commands.map(([name]) => name)).toEqual(expect.arrayContaining(['templates put', 'templates list', 'webhooks add', 'webhooks remove', 'dead-letters replay', 'trials']));
    for (const [name, command] of commands) expect(command.description(), name).not.toBe('');
  });

  it('takes --json on every templates command', () => {
    for (const name of ['put', 'get', 'list', 'delete']) {
      const command = program.commands.find((c) => c.name() === 'templates')?.commands.find((c) => c.name() === name);
      expect(command?.options.map((o) => o.long), name).toContain('--json');
    }
  });

  it('shows examples after the top-level help', () => {
    let help = '';
    program.configureOutput({ writeOut: (s) => void (help += s) });
    program.outputHelp();
    for (const example of ['npm start', 'tunewire submit examples/iris-forest/spec.yaml', 'tunewire jobs', 'tunewire trials <job> --sort -objective', 'tunewire dashboard', 'tunewire logs <job> <trial>']) {
      expect(help).toContain(example);
    }
  });
});
