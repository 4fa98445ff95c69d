import { SingleBar, Presets } from 'cli-progress';
import { isTerminalJobStatus, isTerminalTrialStatus } from '../domain/status';
import type { JobRecord } from '../domain/job';
import type { PromotionRecord } from '../ports/ledger';
import type { EmbeddedStack } from '../local-stack/embedded';
import { reconcileJob } from '../use-cases/reconcile-job';
import { hyper, type Output } from './output';

const POLL_MS = 400;

/** How often a cloud job is described while the CLI waits; events do the work where deployed. */
function cloudPollMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.TUNEWIRE_POLL_SECONDS ?? 10);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * Waits until the job is finished and its consequences (trial fan-out, promotion) have settled,
 * showing progress: a bar on a TTY, a line per finished trial otherwise.
 */
export async function waitForJob(stack: EmbeddedStack, jobId: string, io: Output, options: { quiet?: boolean } = {}): Promise<{ job: JobRecord; promotion?: PromotionRecord }> {
  const { ledger } = stack.deps;
  const first = (await ledger.getJob(jobId)) as JobRecord;
  const bar = !options.quiet && process.stdout.isTTY ? new SingleBar({ format: ' trials {bar} {value}/{total} | best {best} | {status}', hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(first.spec.budget.maxTrials, 0, { best: '-', status: first.status });
  const seen = new Set<string>();

  const report = async () => {
    const [job, trials] = await Promise.all([ledger.getJob(jobId), ledger.listTrials(jobId)]);
    const finished = trials.filter((t) => isTerminalTrialStatus(t.status));
    for (const t of finished) {
      if (seen.has(t.trialId)) continue;
      seen.add(t.trialId);
      if (!bar && !options.quiet) io.line(`  ${t.trialId} ${t.status}${t.objectiveValue !== undefined ? ` ${t.objectiveValue}` : ''}  ${hyper(t)}${t.failureReason ? `  (${t.failureReason})` : ''}`);
    }
    bar?.update(finished.length, { best: job?.bestTrial?.objectiveValue ?? '-', status: job?.status ?? '?' });
    return job as JobRecord;
  };

  const timer = setInterval(() => void report().catch(() => undefined), POLL_MS);
  try {
    if (first.provider === 'local') await stack.localProvider.waitForJob(first.providerJobName);
    const local = first.provider === 'local';
    const deadline = Date.now() + (local ? SETTLE_TIMEOUT_MS : Number.POSITIVE_INFINITY);
    for (;;) {
      // webhook deliveries are not the job's consequences: a failing receiver must not hold the wait
      await stack.bus.drain({ except: ['notify'] });
      let job = await report();
      // A cloud provider's events do not reach this process: describe it, as the reconciler does.
      if (!local && !isTerminalJobStatus(job.status)) {
        await reconcileJob(stack.deps, job, 'cli-wait');
        await stack.bus.drain({ except: ['notify'] });
        job = await report();
      }
      const promotion = await promotionOf(stack, job);
      const settled = isTerminalJobStatus(job.status) && job.announcedStatus === job.status && (!job.spec.promotion || promotion);
      if (settled) return { job, ...(promotion ? { promotion } : {}) };
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not settle: status ${job.status}, announced ${job.announcedStatus ?? 'nothing'}`);
      await new Promise((r) => setTimeout(r, local || isTerminalJobStatus(job.status) ? POLL_MS : cloudPollMs()));
    }
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
}

async function promotionOf(stack: EmbeddedStack, job: JobRecord): Promise<PromotionRecord | undefined> {
  if (!job.spec.promotion) return undefined;
  const records = await stack.deps.ledger.listPromotions(job.spec.promotion.model);
  return records.filter((r) => r.jobId === job.jobId).at(-1);
}
