import { ProviderError } from '../../domain/errors';
import type { TrialLogLink } from '../../ports/provider';

/** Where SageMaker training jobs write their output: one stream per instance, `<TrainingJobName>/algo-1-<epoch>`. */
export const TRAINING_JOB_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** AWS region names (`us-east-1`, `eu-central-2`, `us-gov-west-1`): they go into a host name, where nothing can be escaped. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/**
 * The CloudWatch console keeps its state in the URL fragment, percent-encoded with `$` for `%`;
 * names inside that state (a log group, a filter value) are percent-encoded once more before, so
 * `/` in a log group name reads `$252F`.
 *
 * @example consoleFragment('?logStreamNameFilter=' + encodeURIComponent('a b')) // '$3FlogStreamNameFilter$3Da$2520b'
 */
function consoleFragment(text: string): string {
  return encodeURIComponent(text).replace(/%/g, '$');
}

/**
 * The console pages for one SageMaker trial (a training job, named by the trial id): its log
 * streams in CloudWatch, filtered by the training job name, and the training job's own page.
 *
 * @example
 *   sageMakerTrialLinks('us-east-1', 'churn-xgb-4k2m-001-6f1b2c3d')[0].url
 *   // 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3Dchurn-xgb-4k2m-001-6f1b2c3d'
 */
export function sageMakerTrialLinks(region: string, trainingJobName: string): TrialLogLink[] {
  if (!REGION.test(region)) {
    throw new ProviderError('sagemaker', 'trialLogs', `region "${region.slice(0, 40)}" is not an AWS region name`, { retryable: false, code: 'PROVIDER.BAD_REGION' });
  }
  const host = `https://${region}.console.aws.amazon.com`;
  const query = `region=${encodeURIComponent(region)}`;
  const group = consoleFragment(encodeURIComponent(TRAINING_JOB_LOG_GROUP));
  const filter = consoleFragment(`?logStreamNameFilter=${encodeURIComponent(trainingJobName)}`);
  return [
    { label: `CloudWatch log streams of training job ${trainingJobName}`, url: `${host}/cloudwatch/home?${query}#logsV2:log-groups/log-group/${group}${filter}` },
    { label: `SageMaker training job ${trainingJobName}`, url: `${host}/sagemaker/home?${query}#/jobs/${encodeURIComponent(trainingJobName)}` },
  ];
}

/**
 * The region of a SageMaker ARN, or undefined when `arn` is none.
 *
 * @example regionOfArn('arn:aws:sagemaker:eu-west-1:123456789012:hyper-parameter-tuning-job/churn') // 'eu-west-1'
 */
export function regionOfArn(arn: string | undefined): string | undefined {
  const match = /^arn:[a-z-]+:sagemaker:([a-z0-9-]+):\d{12}:/.exec(arn ?? '');
  return match?.[1];
}
