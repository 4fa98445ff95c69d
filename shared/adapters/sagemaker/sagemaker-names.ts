import { createHash } from 'node:crypto';

/** SageMaker's tuning job names: 1 to 32 letters, digits and inner dashes. */
export const SAGEMAKER_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/;

// SageMaker names are case-insensitive and its ARNs carry them in lowercase; a name read back from
// an ARN (a training job's TuningJobArn) must equal the one we chose, so we choose lowercase only.
const LOWERCASE_JOB_NAME = /^[a-z0-9](-*[a-z0-9]){0,31}$/;

/**
 * The tuning job name for a tunewire job id: the id as it is when SageMaker takes it (every id
 * `deriveJobId` makes), otherwise a lowercase cut of it and 8 hex digits of its hash, so distinct
 * ids keep distinct names and a retried submit names the same job.
 */
export function sageMakerJobName(jobId: string): string {
  if (LOWERCASE_JOB_NAME.test(jobId)) return jobId;
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 8);
  const stem = jobId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 23)
    .replace(/-+$/, '');
  return stem ? `${stem}-${hash}` : hash;
}
