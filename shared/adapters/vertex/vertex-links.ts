import type { TrialLogLink } from '../../ports/provider';

/** `projects/<project>/locations/<location>/hyperparameterTuningJobs/<id>`, the job's resource name. */
const TUNING_JOB_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/hyperparameterTuningJobs\/([^/]+)$/;

/** The parts of a HyperparameterTuningJob resource name; undefined when `name` is not one. */
export function parseTuningJobName(name: string): { readonly project: string; readonly location: string; readonly id: string } | undefined {
  const match = TUNING_JOB_NAME.exec(name);
  return match ? { project: match[1] as string, location: match[2] as string, id: match[3] as string } : undefined;
}

/** A string literal of the Logging query language: double-quoted, with `\` and `"` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The Logs Explorer showing what matches `conditions` (ANDed), in `project`: the query rides in
 * the path's `;query=` parameter, percent-encoded whole.
 *
 * @example
 *   cloudLoggingUrl('demo', [['resource.type', 'ml_job'], ['resource.labels.job_id', '123']])
 *   // 'https://console.cloud.google.com/logs/query;query=resource.type%3D%22ml_job%22%20resource.labels.job_id%3D%22123%22?project=demo'
 */
export function cloudLoggingUrl(project: string, conditions: readonly (readonly [field: string, value: string])[]): string {
  const query = conditions.map(([field, value]) => `${field}=${quoted(value)}`).join(' ');
  return `https://console.cloud.google.com/logs/query;query=${encodeURIComponent(query)}?project=${encodeURIComponent(project)}`;
}

/**
 * Where one trial of a Vertex AI tuning job is read: the tuning job's console page, and Cloud
 * Logging filtered to the job (Vertex AI training writes under the monitored resource `ml_job`,
 * label `job_id` the job's numeric id) and to the trial (log label `ml.googleapis.com/trial_id`).
 *
 * @example
 *   vertexTrialLinks({ project: 'demo', location: 'us-central1', id: '123' }, '4')[0].url
 *   // 'https://console.cloud.google.com/vertex-ai/locations/us-central1/training/123?project=demo'
 */
export function vertexTrialLinks(job: { readonly project: string; readonly location: string; readonly id: string }, trialId: string): TrialLogLink[] {
  const { project, location, id } = job;
  const jobLogs: [string, string][] = [
    ['resource.type', 'ml_job'],
    ['resource.labels.job_id', id],
  ];
  return [
    {
      label: `Vertex AI tuning job ${id}`,
      url: `https://console.cloud.google.com/vertex-ai/locations/${encodeURIComponent(location)}/training/${encodeURIComponent(id)}?project=${encodeURIComponent(project)}`,
    },
    { label: `Cloud Logging: trial ${trialId}`, url: cloudLoggingUrl(project, [...jobLogs, ['labels."ml.googleapis.com/trial_id"', trialId]]) },
    { label: `Cloud Logging: tuning job ${id}, every trial`, url: cloudLoggingUrl(project, jobLogs) },
  ];
}
