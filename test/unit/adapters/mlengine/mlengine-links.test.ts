import { describe, expect, it } from 'vitest';
import { mlEngineTrialLinks } from '../../../../shared/adapters/mlengine/mlengine-links';

const queryOf = (url: string | undefined): string => decodeURIComponent(/;query=([^?]*)\?/.exec(url ?? '')?.[1] ?? '');

describe('mlEngineTrialLinks', () => {
  it('links the AI Platform job page and Cloud Logging for the trial (ml_job, job_id, ml.googleapis.com/trial_id) and the job', () => {
    const links = mlEngineTrialLinks({ project: 'tunewire-legacy', jobId: 'census_mlengine_4k2m9x0abc' }, '7');

    expect(links[0]).toEqual({ label: 'AI Platform job census_mlengine_4k2m9x0abc', url: 'https://console.cloud.google.com/ai-platform/jobs/census_mlengine_4k2m9x0abc?project=tunewire-legacy' });
    expect(queryOf(links[1]?.url)).toBe('resource.type="ml_job" resource.labels.job_id="census_mlengine_4k2m9x0abc" labels."ml.googleapis.com/trial_id"="7"');
    expect(queryOf(links[2]?.url)).toBe('resource.type="ml_job" resource.labels.job_id="census_mlengine_4k2m9x0abc"');
    expect(new URL(links[1]?.url ?? '').searchParams.get('project')).toBe('tunewire-legacy');
  });

  it('encodes odd characters in the project, job and trial', () => {
    const links = mlEngineTrialLinks({ project: 'a b', jobId: 'j/../x?y' }, 't"1');

    expect(links[0]?.url).toBe('https://console.cloud.google.com/ai-platform/jobs/j%2F..%2Fx%3Fy?project=a%20b');
    expect(queryOf(links[1]?.url)).toBe('resource.type="ml_job" resource.labels.job_id="j/../x?y" labels."ml.googleapis.com/trial_id"="t\\"1"');
    expect(links[1]?.url.endsWith('?project=a%20b')).toBe(true);
  });
});
