import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobNotFoundError, SpecValidationError, TunewireError, UnknownProviderError, ValidationError } from '../domain/errors';
import { deriveJobId, type JobRecord } from '../domain/job';
import { isTerminalJobStatus } from '../domain/status';
import { PROVIDERS, countHyperparameters, parseSpecText, readYamlText, type TuningSpec } from '../domain/spec';
import { jobView } from '../edge/views';
import { openEmbeddedStack, type EmbeddedStack } from '../local-stack/embedded';
import { offlineProviders } from './offline-providers';
import { stopJob } from '../use-cases/stop-job';
import { deleteTemplate, getTemplate, listTemplates, putTemplate } from '../use-cases/manage-templates';
import { addSubscription, removeSubscription, rotateSubscriptionSecret, subscriptionView } from '../use-cases/manage-webhooks';
import { maskWebhookUrl } from '../ports/webhooks';
import { replayDeadLetters } from '../use-cases/notify';
import { submitJob } from '../use-cases/submit-job';
import { devBanner, listenDevServer } from './dev-server';
import { readOrCreateApiToken } from '../local-stack/state-dir';
import { isAlive } from '../local-stack/service';
import { consoleOutput, describeChampion, describeJob, describeTemplate, hyper, templatesTable, triggerSummary, type Output } from './output';
import { checkReplay, readEventsFile, replayEvents, replaySummary } from './replay';
import { JobInterruptedError, waitForJob } from './wait';
import { attendJob, type AttendResult } from './attend';
import { EXIT, gridWarning, jobExitCode, outcomeLine, promotionLine } from './outcome';
import { anchorTrialCwd } from './spec-file';
import { comparisonLine, runRandomBaseline, summarizeSearch } from './demo-comparison';
import { gridSize } from '../adapters/local/search';
import { registerServiceCommands } from './service-commands';
import { registerLogsCommand } from './logs';
import { registerDashboardCommand } from './dashboard';
import { freshJob, registerJobCommands, registerTrialsCommand, watchJob, type JobCommandContext } from './jobs';

/** The repository (package) root: serverless.yml, examples/ and trial commands are found from here. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_SPEC = join(ROOT, 'examples', 'iris-forest', 'spec.yaml');

const EXIT_BAD_INPUT = EXIT.badInput;

/** Shown after the top-level `--help`. */
const HELP_EXAMPLES = `
Examples:
  npm start                                        the demo: tune a random forest on iris, promote the best
  tunewire submit examples/iris-forest/spec.yaml   run a spec (a local job is waited for)
  tunewire jobs                                    the jobs in the ledger, newest first
  tunewire trials <job> --sort -objective          a job's trials, best objective first
  tunewire dashboard                               the study in the browser
  tunewire logs <job> <trial>                      a trial's output

Each command's own --help lists its options.`;

/** tunewire's version, from its package.json (the bundled CLI finds it from ROOT too). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface Context {
  readonly io: Output;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  /** The exit code a command that waited for a job sets from its outcome (see outcome.ts). */
  readonly result: { code: number };
}

/** A YAML or JSON document from a file; a missing file or bad syntax is bad input naming the file. */
function readDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, [{ path: '(file)', message: `cannot be read: ${(error as Error).message.split('\n')[0]}` }], { cause: error });
  }
  // the spec's reader: linear in the text, and refuses what nests too deep before it is parsed
  const read = readYamlText(text);
  if (!read.ok) throw new ValidationError(path, [read.issue], read.cause === undefined ? undefined : { cause: read.cause });
  return read.document;
}

export function readSpec(path: string, provider?: string): TuningSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SpecValidationError(path, [{ path: '(file)', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }], { cause: error });
  }
  const parsed = parseSpecText(text, path);
  const spec = provider ? { ...parsed, provider: parseSpecText(JSON.stringify({ ...parsed, provider }), `--provider`).provider } : parsed;
  return anchorTrialCwd(spec, path);
}

/** `--header "Name: value"` options as a record; one without a colon is bad input naming it. */
function parseHeaderOptions(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new ValidationError('--header', [{ path: '--header', message: `must be "Name: value", not ${value}` }]);
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * A submit that failed because the local service died under it (its DynamoDB Local goes with it):
 * says so, and where the job is, instead of the bare connection error. Undefined otherwise.
 */
function serviceLostDuringSubmit(stack: EmbeddedStack, error: unknown): Error | undefined {
  if (stack.servicePid === undefined || isAlive(stack.servicePid)) return undefined;
  const what = error instanceof Error ? error.message : String(error);
  return new Error(
    `the tunewire service (pid ${stack.servicePid}) exited while the job was being submitted (${what}). The next command marks the job interrupted: \`tunewire jobs --status paused\` lists it, \`tunewire resume <job>\` continues it (or submit again with the same --idempotency-key)`,
    { cause: error },
  );
}

/** Warns (stderr, not an error) when the local engine will run only part of the spec's grid. */
function warnAboutGrid(io: Output, spec: TuningSpec): void {
  if (spec.provider !== 'local' || spec.strategy !== 'grid') return;
  const warning = gridWarning(spec, gridSize(spec.parameters));
  if (warning) io.error(`warning: ${warning}`);
}

/**
 * The end of a command that submitted or resumed a job: the job's status block (or JSON), then,
 * when it waited, the promotion and the outcome, with the exit code they mean (outcome.ts).
 */
async function reportJob(ctx: Context, stack: EmbeddedStack, job: JobRecord, waited: AttendResult | undefined, opts: { json?: boolean }): Promise<void> {
  const { io } = ctx;
  const final = waited?.job ?? job;
  if (waited?.detached) {
    ctx.result.code = EXIT.detached;
    if (opts.json) io.json(jobView(final));
    return;
  }
  if (waited) ctx.result.code = jobExitCode(final);
  if (opts.json) return io.json(jobView(final));
  describeJob(final).forEach((l) => io.line(l));
  if (!waited) return io.line(`follow it: tunewire wait ${final.jobId}`);
  if (waited.promotion) io.line(promotionLine(waited.promotion, Boolean(await stack.deps.ledger.getChampion(waited.promotion.model))));
  io.line(outcomeLine(final));
}

async function withStack<T>(ctx: Context, work: (stack: EmbeddedStack) => Promise<T>): Promise<T> {
  const stack = await openEmbeddedStack({ home: ctx.home, root: ROOT });
  try {
    return await work(stack);
  } finally {
    await stack.close();
  }
}

/** Every command, built for one run of the CLI (exported for the test that reads its help). */
export function buildProgram(ctx: Context): Command {
  const { io } = ctx;
  const program = new Command('tunewire')
    .description('Event-driven hyperparameter tuning on SageMaker, Vertex AI, Cloud ML Engine or a local engine')
    .version(packageVersion(), '-V, --version', "print tunewire's version")
    // program options only before a command: `templates get <name> --version 2` is the template's version
    .enablePositionalOptions()
    .addHelpText('after', HELP_EXAMPLES)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  const jobContext: JobCommandContext = { ...ctx, withStack: (work) => withStack(ctx, work) };
  const providerOption = () => new Option('--provider <provider>', 'run the spec on this provider instead of its own').choices(PROVIDERS);

  program
    .command('validate <spec>')
    .description('check a spec against the schema and its provider rules; nothing is sent')
    .addOption(providerOption())
    .action((file: string, opts: { provider?: string }) => {
      const spec = readSpec(file, opts.provider);
      offlineProviders(ctx.home, ROOT).get(spec.provider).provider.validate(spec);
      warnAboutGrid(io, spec);
      io.line(`${file}: valid for ${spec.provider} (${spec.parameters.length} parameters, ${countHyperparameters(spec)} hyperparameters, ${spec.strategy}, ${spec.budget.maxTrials} trials)`);
    });

  program
    .command('render <spec>')
    .description("print the provider's create request as JSON, in the API's own names")
    .addOption(providerOption())
    .action((file: string, opts: { provider?: string }) => {
      const spec = readSpec(file, opts.provider);
      const { provider } = offlineProviders(ctx.home, ROOT).get(spec.provider);
      provider.validate(spec);
      const jobId = deriveJobId(spec.name, 'render');
      io.json(provider.render(spec, { jobId, providerJobName: provider.providerJobName(jobId) }));
    });

  program
    .command('submit <spec>')
    .description('submit a tuning job; waits for a local one unless --no-wait (Ctrl-C stops waiting, the job goes on)')
    .addOption(providerOption())
    .option('--wait', 'wait for the job to finish and be promoted (the default for a local job)')
    .option('--no-wait', 'return once the job is submitted; follow it with tunewire wait')
    .option('--idempotency-key <key>', 'the same key always means the same job')
    .option('--json', 'print JSON')
    .action((file: string, opts: { provider?: string; wait?: boolean; idempotencyKey?: string; json?: boolean }) => {
      // Bad input is refused before the stack is touched: no service starts for a missing file.
      const spec = readSpec(file, opts.provider);
      offlineProviders(ctx.home, ROOT).get(spec.provider).provider.validate(spec);
      warnAboutGrid(io, spec);
      return withStack(ctx, async (stack) => {
        const { job, created } = await submitJob(stack.deps, { spec, trigger: 'cli', ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) }).catch((error: unknown) => {
          throw serviceLostDuringSubmit(stack, error) ?? error;
        });
        if (!opts.json) io.line(`${created ? 'submitted' : 'already submitted'}: ${job.jobId} on ${job.provider} (${job.providerJobName})`);
        const runsHere = job.provider === 'local' && stack.localProvider.runsHere;
        if (runsHere && opts.wait === false) io.error('note: waiting anyway: the ledger is not the local service\'s, so this job\'s trials run in this process');
        const wait = runsHere || (opts.wait ?? job.provider === 'local');
        await reportJob(ctx, stack, job, wait ? await attendJob(stack, job, io, { quiet: Boolean(opts.json), env: ctx.env }) : undefined, opts);
      });
    });

  program
    .command('resume <job>')
    .description('continue an interrupted local job (its engine exited) with the rest of its budget, keeping its finished trials')
    .option('--no-wait', 'return once it runs again; follow it with tunewire wait')
    .option('--json', 'print JSON')
    .action((jobId: string, opts: { wait?: boolean; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const job = await stack.deps.ledger.getJob(jobId);
        if (!job) throw new JobNotFoundError(jobId);
        if (job.provider !== 'local') {
          throw new ValidationError('job', [{ path: 'job', message: `${jobId} runs on ${job.provider}; only local jobs are resumed (a cloud job can warm-start a new one: warmStart.from)` }]);
        }
        if (isTerminalJobStatus(job.status)) throw new ValidationError('job', [{ path: 'job', message: `${jobId} has already ${job.status}; there is nothing to resume` }]);
        const { resumed } = await stack.localProvider.resume(job.providerJobName, { env: ctx.env });
        if (!opts.json) io.line(resumed ? `resumed ${jobId}: its finished trials are kept, the rest of its budget runs` : `${jobId} is running already`);
        const wait = stack.localProvider.runsHere || opts.wait !== false;
        await reportJob(ctx, stack, job, wait ? await attendJob(stack, job, io, { quiet: Boolean(opts.json), env: ctx.env }) : undefined, opts);
      }),
    );

  program
    .command('status <job>')
    .description("a job's status from the ledger; a cloud job's is asked of its provider when the ledger's is older than the poll interval")
    .option('--watch', 'print it again on each change until the job ends; exit as wait does')
    .option('--json', 'print JSON')
    .action((jobId: string, opts: { watch?: boolean; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const stored = await stack.deps.ledger.getJob(jobId);
        if (!stored) throw new JobNotFoundError(jobId);
        if (opts.watch) return watchJob(jobContext, stack, stored, opts);
        const job = await freshJob(jobContext, stack, stored);
        if (opts.json) io.json(jobView(job));
        else describeJob(job).forEach((l) => io.line(l));
      }),
    );

  program
    .command('stop <job>')
    .description('ask the provider to stop a job; the ledger follows its events to stopped')
    .option('--wait', 'wait until the job has stopped')
    .option('--json', 'print JSON')
    .action((jobId: string, opts: { wait?: boolean; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const { job, requested } = await stopJob(stack.deps, jobId);
        if (!opts.json) io.line(requested ? `stop requested for ${job.jobId} (${job.provider} ${job.providerJobName})` : `${job.jobId} has already ${job.status}`);
        const final = requested && opts.wait ? (await waitForJob(stack, job.jobId, io, { quiet: Boolean(opts.json) })).job : job;
        if (opts.json) io.json({ ...jobView(final), stopRequested: requested });
      }),
    );

  registerTrialsCommand(program, jobContext);

  program
    .command('champion <model>')
    .description("a model's champion and its promotion history")
    .option('--json', 'print JSON')
    .action((model: string, opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const [champion, history] = await Promise.all([stack.deps.ledger.getChampion(model), stack.deps.ledger.listPromotions(model)]);
        if (opts.json) return io.json({ champion: champion ?? null, history });
        if (!champion) io.line(`model ${model} has no champion yet`);
        else describeChampion(champion).forEach((l) => io.line(l));
        for (const h of history) io.line(`  ${h.decidedAt}  ${h.decision.padEnd(8)} job ${h.jobId}${h.objectiveValue !== undefined ? ` (${h.objectiveValue})` : ''}: ${h.reason}`);
      }),
    );

  program
    .command('replay <file>')
    .description('feed raw events (EventBridge events, Pub/Sub push bodies; a JSON array or one per line) through the handlers')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const events = readEventsFile(file);
        const results = await replayEvents(stack, events);
        if (opts.json) io.json(results);
        else {
          for (const r of results) {
            io.line(`#${r.index} ${r.eventId ?? '-'} ${r.function ? `${r.function}: ` : ''}${r.outcome}${r.jobId ? ` (job ${r.jobId})` : ''}${r.detail ? ` - ${r.detail.split('\n').join(' ')}` : ''}`);
          }
          io.line(replaySummary(events.length, results));
        }
        checkReplay(file, events.length, results);
      }),
    );

  const templates = program.command('templates').description('stored specs that triggers and schedules start jobs from');
  templates
    .command('put <name> <file>')
    .description('store a new version of a template (a spec, with trigger settings)')
    .option('--json', 'print JSON')
    .action((name: string, file: string, opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const view = await putTemplate(stack.deps, { name, document: readDocument(file) });
        if (opts.json) return io.json(view);
        io.line(`stored template ${view.name} version ${view.version ?? view.latestVersion}${view.spec ? ` (${view.spec.name} on ${view.spec.provider})` : ''}; triggers: ${triggerSummary(view.triggers)}`);
      }),
    );
  templates
    .command('get <name>')
    .description('a template: its spec (the latest version unless --version), triggers and running job')
    .option('--version <n>', 'an older version', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON (with the spec)')
    .action((name: string, opts: { version?: number; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const view = await getTemplate(stack.deps, { name, ...(opts.version ? { version: opts.version } : {}) });
        if (!view) throw new ValidationError('template', [{ path: 'name', message: `no template ${name}` }]);
        if (opts.json) return io.json(view);
        describeTemplate(view).forEach((l) => io.line(l));
      }),
    );
  templates
    .command('list')
    .description('the stored templates')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const views = await listTemplates(stack.deps);
        if (opts.json) return io.json(views);
        if (views.length === 0) return io.line('no templates');
        templatesTable(views).forEach((l) => io.line(l));
      }),
    );
  templates
    .command('delete <name>')
    .description('delete a template and its versions; jobs it started stay in the ledger')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        if (!(await deleteTemplate(stack.deps, { name }))) throw new ValidationError('template', [{ path: 'name', message: `no template ${name}` }]);
        if (opts.json) return io.json({ name, deleted: true });
        io.line(`deleted template ${name}`);
      }),
    );

  const webhooks = program.command('webhooks').description('outbound webhook subscriptions (Standard Webhooks signatures)');
  webhooks
    .command('add <url>')
    .description('subscribe a URL to tunewire events; its deliveries are signed with a secret shown once')
    .option('-e, --events <kinds...>', 'event kinds (job.finished, model.promoted, ...) or *', ['*'])
    .option('--secret <whsec>', 'the signing secret; one is made when not given')
    .option('-H, --header <name:value...>', 'a header sent with every delivery (e.g. "Authorization: Bearer …"); stored sealed, listed by name only')
    .option('--format <format>', 'standard (Standard Webhooks JSON) or slack ({ text })', 'standard')
    .option('--json', 'print JSON')
    .action((url: string, opts: { events: string[]; secret?: string; header?: string[]; format: string; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const headers = opts.header ? parseHeaderOptions(opts.header) : undefined;
        const sub = await addSubscription(stack.deps.webhooks, {
          url,
          events: opts.events,
          format: opts.format,
          ...(opts.secret ? { secret: opts.secret } : {}),
          ...(headers ? { headers } : {}),
        });
        if (opts.json) return io.json(sub);
        io.line(`subscription ${sub.id} -> ${sub.url} (${sub.events.join(', ')})`);
        io.line(`secret (shown once): ${sub.secret}`);
      }),
    );
  webhooks
    .command('list')
    .description('the subscriptions: id, enabled, URL (scheme and host only), event kinds')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const subs = (await stack.deps.webhooks.store.listSubscriptions()).map(subscriptionView);
        if (opts.json) return io.json(subs);
        for (const sub of subs) io.line(`${sub.id}  ${sub.enabled ? 'enabled ' : 'disabled'}  ${sub.url}  [${sub.events.join(', ')}]${sub.disabledReason ? `  (${sub.disabledReason})` : ''}`);
      }),
    );
  webhooks
    .command('rotate <id>')
    .description('give a subscription a new secret; the old one still signs (a second signature) during the grace period')
    .option('--grace-hours <hours>', 'how long the old secret keeps signing (default 24, at most 168)', (v) => {
      const hours = Number(v);
      if (!Number.isFinite(hours) || hours < 0) throw new ValidationError('--grace-hours', [{ path: '--grace-hours', message: `must be a number of hours, not ${v}` }]);
      return hours;
    })
    .option('--json', 'print JSON')
    .action((id: string, opts: { graceHours?: number; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const rotated = await rotateSubscriptionSecret(stack.deps.webhooks, id, opts.graceHours === undefined ? {} : { graceMs: Math.round(opts.graceHours * 3_600_000) });
        if (opts.json) return io.json(rotated);
        io.line(`new secret (shown once): ${rotated.secret}`);
        io.line(`the old secret signs too until ${rotated.previousSecretExpiresAt}`);
      }),
    );
  webhooks
    .command('spec-secret <url>')
    .description("the secret webhooks to a spec's notify URL are signed with (derived from TUNEWIRE_WEBHOOK_SPEC_SECRET and the URL)")
    .action((url: string) =>
      withStack(ctx, async (stack) => {
        const signing = stack.deps.webhooks.specSigning;
        if (!signing) throw new ValidationError('environment', [{ path: 'TUNEWIRE_WEBHOOK_SPEC_SECRET', message: 'is not set: webhooks to spec notify URLs are not sent' }]);
        io.line(signing(url).secret);
      }),
    );
  webhooks
    .command('remove <id>')
    .description('delete a subscription; nothing more is sent to it')
    .action((id: string) =>
      withStack(ctx, async (stack) => {
        await removeSubscription(stack.deps.webhooks, id);
        io.line(`removed ${id}`);
      }),
    );

  const deadLetters = program.command('dead-letters').description('webhook deliveries that failed after the last attempt');
  deadLetters
    .command('list')
    .description('the failed deliveries: when, subscription, event, attempts, last error')
    .option('-s, --subscription <id>', 'only this subscription')
    .option('--json', 'print JSON')
    .action((opts: { subscription?: string; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const stored = await stack.deps.webhooks.store.listDeadLetters(opts.subscription ? { subscriptionId: opts.subscription } : {});
        // a URL's path and query may carry a token (Slack's do): scheme and host only, as in webhooks list
        const letters = stored.map((l) => ({ ...l, url: maskWebhookUrl(l.url) }));
        if (opts.json) return io.json(letters);
        for (const l of letters) io.line(`${l.at}  ${l.subscriptionId}  ${l.eventId}  ${l.attempts} attempt(s)  ${l.lastError.split('\n')[0]}`);
      }),
    );
  deadLetters
    .command('replay')
    .description('send the failed deliveries again; a delivered one leaves the list')
    .option('-s, --subscription <id>', 'only this subscription')
    .option('--json', 'print JSON')
    .action((opts: { subscription?: string; json?: boolean }) =>
      withStack(ctx, async (stack) => {
        const results = await replayDeadLetters(stack.deps.webhooks, opts.subscription ? { subscriptionId: opts.subscription } : {});
        if (opts.json) return io.json(results);
        for (const r of results) io.line(`${r.subscriptionId} ${r.eventId}: ${r.outcome}${r.detail ? ` - ${r.detail}` : ''}`);
      }),
    );

  program
    .command('demo')
    .description('tune a random forest on the iris data set with the local engine, then promote the best')
    .option('--spec <file>', 'another spec to run', DEMO_SPEC)
    .action((opts: { spec: string }) =>
      withStack(ctx, async (stack) => {
        const spec = readSpec(opts.spec);
        io.line(`tunewire demo: ${spec.name}, ${spec.strategy} search, ${spec.budget.maxTrials} trials, ${spec.budget.parallelTrials} at a time, on ${spec.provider}`);
        const { job } = await submitJob(stack.deps, { spec, trigger: 'demo' });
        io.line(`submitted ${job.jobId}`);
        const { job: final, promotion, detached } = await attendJob(stack, job, io, { env: ctx.env });
        if (detached) {
          ctx.result.code = EXIT.detached;
          return;
        }
        const best = final.bestTrial;
        ctx.result.code = jobExitCode(final);
        io.line(outcomeLine(final));
        io.line(best ? `best trial: ${best.trialId} ${spec.objective.metric}=${best.objectiveValue} (${hyper(best)})` : 'best trial: none');
        if (promotion) io.line(promotionLine(promotion, Boolean(await stack.deps.ledger.getChampion(promotion.model))));
        if (spec.provider === 'local' && spec.strategy === 'bayesian' && final.status === 'succeeded') {
          // The honest yardstick: the same budget searched at random, run here (about 8 s for iris on
          // two cores; cut off at 20 s), not recorded.
          io.line(`comparing: random search of the same ${spec.budget.maxTrials} trials and seed, run here and not recorded...`);
          const random = await runRandomBaseline(spec, { env: ctx.env, timeoutMs: 20_000 });
          io.line(comparisonLine(random, summarizeSearch(await stack.deps.ledger.listTrials(final.jobId), spec.objective.goal)));
        }
        io.line(`see: tunewire status ${final.jobId} | tunewire trials ${final.jobId} | tunewire champion ${spec.promotion?.model ?? spec.name}`);
      }),
    );

  program
    .command('dev')
    .description('keep the local stack up with the HTTP API until Ctrl-C (127.0.0.1 only; every request carries the API token)')
    .option('--port <port>', 'HTTP port on 127.0.0.1', (v) => {
      const port = Number(v);
      if (!/^\d+$/.test(v) || port > 65_535) throw new ValidationError('--port', [{ path: '--port', message: `must be a port number (0-65535), not ${v}` }]);
      return port;
    }, 8787)
    .action(async (opts: { port: number }) => {
      const { token, file } = readOrCreateApiToken(ctx.home);
      // Bind before anything starts: a busy port fails here, with no DynamoDB Local to stop again.
      const server = await listenDevServer({ port: opts.port, token });
      let stack: EmbeddedStack | undefined;
      try {
        stack = await openEmbeddedStack({ home: ctx.home, root: ROOT });
        server.serve(stack.deps);
        devBanner(server.url, file).forEach((l) => io.line(l));
        io.line(`ledger: DynamoDB Local at ${stack.dynamoEndpoint}; Ctrl-C to stop`);
        await new Promise<void>((resolveStop) => {
          process.once('SIGINT', resolveStop);
          process.once('SIGTERM', resolveStop);
        });
        io.line('stopping...');
      } finally {
        await server.close();
        await stack?.close();
      }
    });

  registerServiceCommands(program, ctx);
  registerJobCommands(program, jobContext);
  registerLogsCommand(program, jobContext);
  registerDashboardCommand(program, { ...ctx, root: ROOT });
  return program;
}

/**
 * Runs the CLI; returns the exit code: 0 done, 2 bad input, 1 anything else; a command that
 * waited for a job: 3 failed, 4 stopped, 5 succeeded without any objective value (outcome.ts).
 */
export async function main(argv: readonly string[], io: Output = consoleOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx: Context = { io, home: resolve(env.TUNEWIRE_HOME ?? '.tunewire'), env, result: { code: EXIT.ok } };
  try {
    await buildProgram(ctx).parseAsync([...argv]);
    return ctx.result.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    if (error instanceof JobInterruptedError) {
      io.error(error.message);
      return EXIT.jobInterrupted;
    }
    if (error instanceof ValidationError || error instanceof JobNotFoundError || error instanceof UnknownProviderError) {
      io.error(`error: ${error.message}`);
      return EXIT_BAD_INPUT;
    }
    io.error(`error: ${error instanceof TunewireError ? `[${error.code}] ` : ''}${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
