import { describe, expect, it } from 'vitest';
import { emfRecord } from '../../../shared/observability/metrics';

const AT = Date.parse('2026-01-02T03:04:05.678Z');

describe('emfRecord', () => {
  it('builds one EMF record: the directive, the values at the root, dimensions and properties beside them', () => {
    const record = emfRecord({
      namespace: 'tunewire',
      dimensions: { service: 'tunewire-prod', function: 'submit' },
      metrics: { JobsSubmitted: 1, Duration: 42 },
      timestamp: AT,
      properties: { level: 'info', correlationId: 'churn-1', outcome: 'applied' },
    });
    expect(record).toEqual({
      level: 'info',
      correlationId: 'churn-1',
      outcome: 'applied',
      service: 'tunewire-prod',
      function: 'submit',
      JobsSubmitted: 1,
      Duration: 42,
      _aws: {
        Timestamp: AT,
        CloudWatchMetrics: [
          {
            Namespace: 'tunewire',
            Dimensions: [['service'], ['service', 'function']],
            Metrics: [
              { Name: 'JobsSubmitted', Unit: 'Count' },
              { Name: 'Duration', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
    });
  });

  it('is valid JSON on one line, as CloudWatch needs it', () => {
    const line = JSON.stringify(emfRecord({ namespace: 'tunewire', dimensions: { service: 's' }, metrics: { Failures: 1 }, timestamp: AT }));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ service: 's', Failures: 1, _aws: { CloudWatchMetrics: [{ Dimensions: [['service']] }] } });
  });

  it('leaves out values that are not finite numbers, and is a plain log line when none is left', () => {
    const record = emfRecord({ namespace: 'tunewire', dimensions: { service: 's' }, metrics: { EventLag: Number.NaN, Failures: Number.POSITIVE_INFINITY }, timestamp: AT, properties: { outcome: 'x' } });
    expect(record).toEqual({ outcome: 'x', service: 's' });
  });

  it('lets metric and dimension values win over properties of the same name', () => {
    const record = emfRecord({ namespace: 'tunewire', dimensions: { function: 'submit' }, metrics: { Promotions: 1 }, timestamp: AT, properties: { function: 'other', Promotions: 'many' } });
    expect(record['function']).toBe('submit');
    expect(record['Promotions']).toBe(1);
  });

  it('refuses more dimensions than EMF allows', () => {
    const dimensions = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`d${i}`, 'v']));
    expect(() => emfRecord({ namespace: 'tunewire', dimensions, metrics: { Failures: 1 }, timestamp: AT })).toThrow(RangeError);
  });
});
