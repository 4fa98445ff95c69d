import { describe, expect, it } from 'vitest';
import { cloudLoggingUrl, parseTuningJobName, vertexTrialLinks } from '../../../../shared/adapters/vertex/vertex-links';

const queryOf = (url: string | undefined): string => decodeURIComponent(/;query=([^?]*)\?/.exec(url ?? '')?.[1] ?? '');

describe('parseTuningJobName', () => {
  it('reads project, location and id from projects/<p>/locations/<l>/hyperparameterTuningJobs/<id>', () => {
    expect(parseTuningJobName('projects/tunewire-demo/locations/us-central1/hyperparameterTuningJobs/123')).toEqual({ project: 'tunewire-demo', location: 'us-central1', id: '123' });
  });

  for (const name of ['projects/p/locations/l/customJobs/1', 'projects/p/locations/l/hyperparameterTuningJobs/1/trials/2', 'arn:aws:sagemaker:x', '']) {
    it(`gives nothing for ${JSON.stringify(name)}`, () => expect(parseTuningJobName(name)).toBeUndefined());
  }
});

describe('vertexTrialLinks', () => {
  it('links the tuning job console page, the trial in Cloud Logging (ml_job, job_id, trial_id) and the whole job', () => {
    const links = vertexTrialLinks({ project: 'tunewire-demo', location: 'us-central1', id: '123' }, '4');

    expect(links.map((l) => l.url)).toEqual([
      'https://console.cloud.google.com/vertex-ai/locations/us-central1/training/123?project=tunewire-demo',
      'https://console.cloud.google.com/logs/query;query=resource.type%3D%22ml_job%22%20resource.labels.job_id%3D%22123%22%20labels.%22ml.googleapis.com%2Ftrial_id%22%3D%224%22?project=tunewire-demo',
      'https://console.cloud.google.com/logs/query;query=resource.type%3D%22ml_job%22%20resource.labels.job_id%3D%22123%22?project=tunewire-demo',
    ]);
    expect(queryOf(links[1]?.url)).toBe('resource.type="ml_job" resource.labels.job_id="123" labels."ml.googleapis.com/trial_id"="4"');
  });

  it('encodes odd characters in every part, and escapes quotes and backslashes inside the log query', () => {
    const links = vertexTrialLinks({ project: 'p&q=1', location: 'eu west/4', id: '1?2#3' }, 'x" OR "1\\');

    expect(links[0]?.url).toBe('https://console.cloud.google.com/vertex-ai/locations/eu%20west%2F4/training/1%3F2%233?project=p%26q%3D1');
    expect(new URL(links[1]?.url ?? '').searchParams.get('project')).toBe('p&q=1');
    expect(queryOf(links[1]?.url)).toBe('resource.type="ml_job" resource.labels.job_id="1?2#3" labels."ml.googleapis.com/trial_id"="x\\" OR \\"1\\\\"');
    for (const link of links) expect(link.url).not.toMatch(/[ "#\\]|#.*#/);
  });
});

describe('cloudLoggingUrl', () => {
  it('puts the conditions, ANDed, in the path parameter and the project in the query', () => {
    expect(cloudLoggingUrl('demo', [['resource.type', 'ml_job']])).toBe('https://console.cloud.google.com/logs/query;query=resource.type%3D%22ml_job%22?project=demo');
  });
});
