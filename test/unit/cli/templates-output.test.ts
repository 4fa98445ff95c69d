import { describe, expect, it } from 'vitest';
import { describeTemplate, templatesTable, triggerSummary } from '../../../shared/cli/output';
import { parseSpec } from '../../../shared/domain/spec';
import type { TemplateView } from '../../../shared/use-cases/manage-templates';

const spec = parseSpec({
  name: 'churn',
  provider: 'local',
  objective: { metric: 'auc', goal: 'maximize' },
  parameters: [{ name: 'x', type: 'discrete', values: [1, 2] }],
  budget: { maxTrials: 8 },
  trial: { command: ['train'] },
});

const view: TemplateView = {
  name: 'churn',
  latestVersion: 3,
  policy: 'queue',
  debounceSeconds: 300,
  triggers: { s3Prefix: 's3://data/churn/', webhook: { kind: 'standard', secret: '***' } },
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:00.000Z',
};

describe('triggerSummary', () => {
  it('names each trigger, never the webhook secret', () => {
    expect(triggerSummary(view.triggers)).toBe('s3 s3://data/churn/, webhook (standard)');
    expect(triggerSummary({ datasetName: 'churn', pubsubTopic: 'datasets' })).toBe('dataset churn, pubsub datasets');
    expect(triggerSummary({})).toBe('none');
  });
});

describe('describeTemplate', () => {
  it('shows the version asked for, its spec, triggers and running job', () => {
    const lines = describeTemplate({ ...view, version: 2, spec, runningJobId: 'churn-abc', runningSince: '2026-11-24T11:00:00.000Z' });
    expect(lines).toEqual([
      'template   churn',
      'version    2 of 3',
      'spec       churn on local: maximize auc, bayesian, 8 trials',
      'triggers   s3 s3://data/churn/, webhook (standard); queue while a job runs, debounce 300s',
      'running    churn-abc since 2026-11-24T11:00:00.000Z',
      'updated    2026-11-24T10:00:00.000Z',
    ]);
    expect(lines.join('\n')).not.toContain('***');
  });
});

describe('templatesTable', () => {
  it('shows one line a template under a header', () => {
    const lines = templatesTable([view, { ...view, name: 'iris', latestVersion: 1, policy: 'drop', triggers: {}, runningJobId: 'iris-1' }]);
    expect(lines[0]).toMatch(/^template\s+version\s+policy\s+triggers\s+running\s+updated$/);
    expect(lines[1]).toMatch(/^churn\s+3\s+queue\s+s3 s3:\/\/data\/churn\/, webhook \(standard\)\s+-\s+2026-11-24T10:00:00.000Z$/);
    expect(lines[2]).toMatch(/^iris\s+1\s+drop\s+none\s+iris-1\s+2026-11-24T10:00:00.000Z$/);
  });
});
