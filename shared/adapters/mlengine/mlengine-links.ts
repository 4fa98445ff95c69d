import type { TrialLogLink } from '../../ports/provider';
import { cloudLoggingUrl } from '../vertex/vertex-links';

/**
 * Where one trial of an ML Engine job is read: the job's AI Platform console page, and Cloud
 * Logging filtered to the job (monitored resource `ml_job`, label `job_id` the job id) and to the
 * trial (log label `ml.googleapis.com/trial_id`).
 *
 * @example
 *   mlEngineTrialLinks({ project: 'demo', jobId: 'census_4k2m' }, '7')[0].url
 *   // 'https://console.cloud.google.com/ai-platform/jobs/census_4k2m?project=demo'
 */
export function mlEngineTrialLinks(job: { readonly project: string; readonly jobId: string }, trialId: string): TrialLogLink[] {
  const { project, jobId } = job;
  const jobLogs: [string, string][] = [
    ['resource.type', 'ml_job'],
    ['resource.labels.job_id', jobId],
  ];
  return [
    { label: `AI Platform job ${jobId}`, url: `https://console.cloud.google.com/ai-platform/jobs/${encodeURIComponent(jobId)}?project=${encodeURIComponent(project)}` },
    { label: `Cloud Logging: trial ${trialId}`, url: cloudLoggingUrl(project, [...jobLogs, ['labels."ml.googleapis.com/trial_id"', trialId]]) },
    { label: `Cloud Logging: job ${jobId}, every trial`, url: cloudLoggingUrl(project, jobLogs) },
  ];
}
