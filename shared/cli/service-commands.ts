import type { Command } from 'commander';
import { TunewireError } from '../domain/errors';
import { attachService, servicePaths, stopService } from '../local-stack/service';
import type { Output } from './output';

/** `tunewire down` found work it would end: local jobs running or other commands attached. */
export class ServiceBusyError extends TunewireError {
  readonly code = 'LOCAL_STACK.SERVICE_BUSY';
  readonly retryable = true;
}

interface ServiceCommandContext {
  readonly io: Output;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

/** `tunewire up` and `tunewire down`: the state directory's shared service, on purpose. */
export function registerServiceCommands(program: Command, ctx: ServiceCommandContext): void {
  const { io } = ctx;
  program
    .command('up')
    .description('start the local service for this state directory (DynamoDB Local), or report the running one')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const external = ctx.env.TUNEWIRE_DYNAMODB_ENDPOINT ?? ctx.env.AWS_ENDPOINT_URL_DYNAMODB;
      if (external) {
        if (opts.json) return io.json({ external: true, dynamoEndpoint: external });
        return io.line(`the ledger is ${external} (TUNEWIRE_DYNAMODB_ENDPOINT or AWS_ENDPOINT_URL_DYNAMODB): no local service is used`);
      }
      const service = await attachService(ctx.home, { env: ctx.env });
      service.release();
      const { info, started, paths } = service;
      if (opts.json) return io.json({ ...info, started, home: paths.home, log: paths.log, file: paths.file });
      io.line(`${started ? 'started' : 'running'}: tunewire service pid ${info.pid}, DynamoDB Local at ${info.dynamoEndpoint}`);
      io.line(`state ${paths.home}; log ${paths.log}; it stops after ${ctx.env.TUNEWIRE_SERVICE_IDLE_SECONDS ?? 300} s without commands or local jobs, or on tunewire down`);
    });

  program
    .command('down')
    .description('stop the local service; refuses while local jobs run or other commands use it, unless --force')
    .option('--force', 'stop the running local jobs first, then the service')
    .action(async (opts: { force?: boolean }) => {
      const result = await stopService(ctx.home, { force: Boolean(opts.force) });
      const { log } = servicePaths(ctx.home);
      switch (result.outcome) {
        case 'not-running':
          return io.line(`no tunewire service runs for ${servicePaths(ctx.home).home}`);
        case 'busy': {
          const reasons = [
            ...(result.jobs.length > 0 ? [`local job(s) running: ${result.jobs.map((j) => `${j.jobId} (pid ${j.enginePid})`).join(', ')}`] : []),
            ...(result.clients.length > 0 ? [`command(s) attached: pid ${result.clients.join(', ')}`] : []),
          ];
          throw new ServiceBusyError(`the tunewire service (pid ${result.info.pid}) is in use: ${reasons.join('; ')}. Wait for them, or run tunewire down --force to stop them.`);
        }
        case 'stopped':
          for (const job of result.stoppedJobs) io.line(`asked local job ${job.jobId} to stop`);
          return io.line(`stopped the tunewire service (pid ${result.info.pid}); its log is ${log}`);
      }
    });
}
