import type { Command } from 'commander';
import { ValidationError } from '../domain/errors';
import { trialLogs, UnknownTrialError, type TrialLogsView } from '../use-cases/trial-logs';
import type { JobCommandContext } from './jobs';

/**
 * `tunewire logs <job> <trial>`: a local trial's output (its last 256 KiB), or where a cloud
 * provider shows it, one link a line; `--json` prints what `GET /jobs/{jobId}/trials/{trialId}/logs`
 * answers. An unknown job or trial is bad input (exit 2).
 */
export function registerLogsCommand(program: Command, ctx: JobCommandContext): void {
  const { io } = ctx;
  program
    .command('logs <job> <trial>')
    .description("a trial's output: the end of a local trial's log, or links to a cloud trial's console and logs")
    .option('--json', 'print JSON (the HTTP API shape)')
    .addHelpText('after', '\nExamples:\n  tunewire logs churn-xgb-4k2m9x0abc churn-xgb-4k2m9x0abc-t003\n  tunewire logs churn-xgb-4k2m9x0abc 4 --json')
    .action((jobId: string, trialId: string, opts: { json?: boolean }) =>
      ctx.withStack(async (stack) => {
        let logs: TrialLogsView;
        try {
          logs = await trialLogs(stack.deps, jobId, trialId);
        } catch (error) {
          if (!(error instanceof UnknownTrialError)) throw error;
          const known = (await stack.deps.ledger.listTrials(jobId)).map((t) => t.trialId);
          const hint = known.length === 0 ? 'it has no trials yet' : `its trials: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`;
          throw new ValidationError('trial', [{ path: 'trial', message: `${error.message}; ${hint} (tunewire trials ${jobId})` }], { cause: error });
        }
        if (opts.json) return io.json(logs);
        if (logs.text) {
          // io.line makes control characters visible: a trial's output must not drive the terminal
          for (const line of logs.text.replace(/\n$/, '').split('\n')) io.line(line);
        }
        if (logs.truncated) io.error(`(the last 256 KiB of the log are shown; the whole log: ${logs.links[0]?.url ?? 'see the links'})`);
        if (logs.note) io.error(`note: ${logs.note}`);
        if (logs.text === undefined) for (const link of logs.links) io.line(`${link.label}: ${link.url}`);
      }),
    );
}
