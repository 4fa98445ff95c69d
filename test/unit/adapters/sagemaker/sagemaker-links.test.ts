import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../shared/domain/errors';
import { regionOfArn, sageMakerTrialLinks } from '../../../../shared/adapters/sagemaker/sagemaker-links';

describe('sageMakerTrialLinks', () => {
  it("links a training job's CloudWatch log streams (group /aws/sagemaker/TrainingJobs, filtered by the job name) and its console page", () => {
    expect(sageMakerTrialLinks('us-east-1', 'churn-xgb-4k2m-001-6f1b2c3d')).toEqual([
      {
        label: 'CloudWatch log streams of training job churn-xgb-4k2m-001-6f1b2c3d',
        url: 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3Dchurn-xgb-4k2m-001-6f1b2c3d',
      },
      { label: 'SageMaker training job churn-xgb-4k2m-001-6f1b2c3d', url: 'https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/churn-xgb-4k2m-001-6f1b2c3d' },
    ]);
  });

  it('encodes odd characters in the name twice inside the CloudWatch fragment and once in the SageMaker one', () => {
    const [logs, page] = sageMakerTrialLinks('eu-west-1', 'a b/c#d$e&f');

    expect(logs?.url.split('$3FlogStreamNameFilter$3D')[1]).toBe('a$2520b$252Fc$2523d$2524e$2526f');
    expect(page?.url.split('#/jobs/')[1]).toBe('a%20b%2Fc%23d%24e%26f');
    expect(decodeURIComponent(decodeURIComponent((logs?.url.split('$3D')[1] ?? '').replace(/\$/g, '%')))).toBe('a b/c#d$e&f');
  });

  it('takes GovCloud and China region names', () => {
    expect(sageMakerTrialLinks('us-gov-west-1', 'x')[1]?.url).toBe('https://us-gov-west-1.console.aws.amazon.com/sagemaker/home?region=us-gov-west-1#/jobs/x');
    expect(sageMakerTrialLinks('cn-north-1', 'x')).toHaveLength(2);
  });

  for (const region of ['evil.example.com/', 'us-east-1.attacker.net#', 'US-EAST-1', '']) {
    it(`refuses the region ${JSON.stringify(region)}: it would go into a host name`, () => {
      expect(() => sageMakerTrialLinks(region, 'x')).toThrow(ProviderError);
    });
  }
});

describe('regionOfArn', () => {
  it('reads the region of a tuning job ARN', () => {
    expect(regionOfArn('arn:aws:sagemaker:eu-west-1:123456789012:hyper-parameter-tuning-job/churn')).toBe('eu-west-1');
    expect(regionOfArn('arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:hyper-parameter-tuning-job/churn')).toBe('us-gov-west-1');
  });

  it('gives nothing for a missing or foreign ARN', () => {
    expect(regionOfArn(undefined)).toBeUndefined();
    expect(regionOfArn('arn:aws:s3:::bucket')).toBeUndefined();
  });
});
