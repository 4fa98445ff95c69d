import { isRetryable, SpecValidationError } from '../domain/errors';
import { deriveJobId, refOf, type JobRecord, type ProviderJobRef } from '../domain/job';
import type { TuningSpec } from '../domain/spec';
import { announceJob, type AnnouncingDependencies } from './announce';

export interface SubmitJobInput {
  readonly spec: TuningSpec;
  /** The same key always means the same job: a retried submit adopts, never duplicates. */
  readonly idempotencyKey?: string;
  /** Who asked: `cli`, `http`, `eventbridge:<rule>`, `schedule`. */
  readonly trigger?: string;
}

export interface SubmitJobResult {
  readonly job: JobRecord;
  /** False when this call found the job already submitted (a retry). */
  readonly created: boolean;
}

/**
 * Submit a tuning job.
 *
 * 1. Check the spec against the provider's rules; nothing is written if it fails.
 * 2. Resolve warm-start parents (tunewire job ids) to provider refs.
 * 3. Create the ledger item in `submitting` (or find the one a previous try made).
 * 4. Create the provider job under a name derived from the job id; "already exists" adopts it.
 * 5. Move the ledger item to `pending` and announce Tuning Job Submitted (and any status the
 *    provider's events brought meanwhile, after it) under the job's announcement claim: a retried
 *    submit publishes nothing new, a crashed one's retry resumes what it claimed.
 *
 * A create the provider refused outright (not retryable: no credentials, a rejected request)
 * leaves no job there: the ledger item moves to `failed` with the reason, and the error goes on.
 * A crash between any two steps is repaired by retrying with the same idempotency key.
 */
export async function submitJob(deps: AnnouncingDependencies, input: SubmitJobInput): Promise<SubmitJobResult> {
  const { spec } = input;
  const { provider } = deps.providers.get(spec.provider);
  provider.validate(spec);
  const warmStartParents = await resolveWarmStartParents(deps, spec);

  const jobId = deriveJobId(spec.name, input.idempotencyKey);
  const providerJobName = provider.providerJobName(jobId);
  const { created, job: stored } = await deps.ledger.createJob({
    jobId,
    name: spec.name,
    provider: spec.provider,
    spec,
    providerJobName,
    createdAt: deps.clock.now().toISOString(),
    ...(input.trigger ? { trigger: input.trigger } : {}),
  });

  let job = stored;
  let adopted = false;
  if (job.status === 'submitting') {
    let result: Awaited<ReturnType<typeof provider.create>>;
    try {
      result = await provider.create({ jobId, providerJobName, spec, ...(warmStartParents ? { warmStartParents } : {}) });
    } catch (error) {
      // A retryable failure may have reached the provider: the job stays submitting for a retry to adopt.
      if (!isRetryable(error)) await deps.ledger.markSubmitFailed(jobId, error instanceof Error ? error.message : String(error), deps.clock.now().toISOString());
      throw error;
    }
    adopted = result.adopted;
    job = await deps.ledger.markSubmitted(jobId, result.ref.providerJobId, deps.clock.now().toISOString(), adopted);
  }

  // Tuning Job Finished is left to status-change, which reads the last trials first.
  await announceJob(deps, job, { holder: `submit:${jobId}`, adopted: adopted || !created });
  return { job, created };
}

async function resolveWarmStartParents(deps: AnnouncingDependencies, spec: TuningSpec): Promise<ProviderJobRef[] | undefined> {
  if (!spec.warmStart) return undefined;
  const parents = await Promise.all(spec.warmStart.from.map((id) => deps.ledger.getJob(id)));
  const issues = parents.flatMap((parent, i) => {
    const path = `warmStart.from[${i}]`;
    if (!parent) return [{ path, message: `job ${spec.warmStart?.from[i]} is not in the ledger` }];
    if (parent.provider !== spec.provider) return [{ path, message: `job ${parent.jobId} ran on ${parent.provider}, not ${spec.provider}` }];
    if (parent.status !== 'succeeded' && parent.status !== 'stopped') return [{ path, message: `job ${parent.jobId} is ${parent.status}; a parent must have finished` }];
    return [];
  });
  if (issues.length) throw new SpecValidationError('spec', issues);
  return parents.map((p) => refOf(p as JobRecord));
}
