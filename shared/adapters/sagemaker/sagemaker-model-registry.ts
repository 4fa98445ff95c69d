import { createHash } from 'node:crypto';
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  DescribeTrainingJobCommand,
  ResourceInUse,
  ResourceNotFound,
  type CreateModelPackageCommandInput,
  type DescribeTrainingJobCommandOutput,
  type ModelApprovalStatus,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ProviderError } from '../../domain/errors';
import type { ModelRegistry } from '../../ports/provider';
import { isValidationException, toProviderError } from './sagemaker-provider';

/**
 * What a package says it accepts and answers. The training image serves the model too (SageMaker's
 * built-in algorithms and framework images do), and CSV is what those built-ins take for inference;
 * a deployment whose containers speak something else says so here.
 */
export const DEFAULT_CONTENT_TYPES: readonly string[] = ['text/csv'];
export const DEFAULT_RESPONSE_TYPES: readonly string[] = ['text/csv'];

export interface SageMakerModelRegistryOptions {
  /** Built once by the composition root; its retry strategy absorbs throttling. */
  readonly client: SageMakerClient;
  /**
   * Forces the approval of every package, whatever the spec says: `manual` for an account where a
   * person always approves. Default: the spec's `promotion.approval` (auto → Approved, manual →
   * PendingManualApproval).
   */
  readonly approval?: 'auto' | 'manual';
  /** Serves the model with this image instead of the training image. */
  readonly inferenceImage?: string;
  readonly contentTypes?: readonly string[];
  readonly responseTypes?: readonly string[];
}

type RegisterInput = Parameters<ModelRegistry['registerVersion']>[0];

/**
 * SageMaker Model Registry: a tunewire model is a Model Package Group, and each promotion a model
 * package version in it, carrying the winning training job's artifact and image.
 *
 * 1. Read the trial's training job: its model artifact and image (or algorithm).
 * 2. Make sure the group exists (created on first promotion, tolerating a concurrent creator).
 * 3. Create the package with a ClientToken derived from job and trial, so a retried promotion
 *    returns the package the first attempt made instead of a second version.
 *
 * @example
 *   const registry = new SageMakerModelRegistry({ client });
 *   const { version } = await registry.registerVersion({ model: 'churn', jobId, ref, trial, spec });
 *   // version: arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3
 */
export class SageMakerModelRegistry implements ModelRegistry {
  private readonly client: SageMakerClient;
  /** Groups known to exist; a group is never deleted by tunewire. */
  private readonly knownGroups = new Set<string>();

  constructor(private readonly options: SageMakerModelRegistryOptions) {
    this.client = options.client;
  }

  async registerVersion(input: RegisterInput): Promise<{ readonly version: string }> {
    const training = await this.describeTrainingJob(input.trial.trialId);
    const modelDataUrl = training.ModelArtifacts?.S3ModelArtifacts;
    if (!modelDataUrl) {
      throw new ProviderError('sagemaker', 'registerVersion', `training job ${input.trial.trialId} has no model artifact (status ${training.TrainingJobStatus})`, {
        retryable: false,
        code: 'PROVIDER.NO_ARTIFACT',
      });
    }
    await this.ensureGroup(input.model);
    const request = this.packageRequest(input, training, modelDataUrl);
    try {
      const output = await this.client.send(new CreateModelPackageCommand(request));
      if (!output.ModelPackageArn) throw new ProviderError('sagemaker', 'registerVersion', 'CreateModelPackage returned no ModelPackageArn', { retryable: true });
      return { version: output.ModelPackageArn };
    } catch (error) {
      throw toProviderError('registerVersion', error);
    }
  }

  /** The CreateModelPackage request for a promotion; exposed for tests and for `render`-like dry runs. */
  packageRequest(input: RegisterInput, training: DescribeTrainingJobCommandOutput, modelDataUrl: string): CreateModelPackageCommandInput {
    const { jobId, trial, spec, model } = input;
    const metric = spec.objective.metric;
    const value = trial.objectiveValue;
    const image = this.options.inferenceImage ?? training.AlgorithmSpecification?.TrainingImage;
    const algorithm = training.AlgorithmSpecification?.AlgorithmName;
    const approval = this.options.approval ?? spec.promotion?.approval ?? 'auto';
    const status: ModelApprovalStatus = approval === 'auto' ? 'Approved' : 'PendingManualApproval';
    if (!image && !algorithm) {
      throw new ProviderError('sagemaker', 'registerVersion', `training job ${trial.trialId} names neither a training image nor an algorithm`, { retryable: false, code: 'PROVIDER.NO_IMAGE' });
    }
    return {
      ModelPackageGroupName: model,
      ModelPackageDescription: truncate(`tunewire job ${jobId}, trial ${trial.trialId}: ${metric} = ${value ?? 'n/a'} (${spec.objective.goal})`, 1024),
      ModelApprovalStatus: status,
      // An image serves the artifact directly; a Marketplace or SageMaker algorithm is referenced
      // as the package's source, which is how SageMaker wants algorithm-trained models registered.
      ...(image
        ? {
            InferenceSpecification: {
              Containers: [{ Image: image, ModelDataUrl: modelDataUrl }],
              SupportedContentTypes: [...(this.options.contentTypes ?? DEFAULT_CONTENT_TYPES)],
              SupportedResponseMIMETypes: [...(this.options.responseTypes ?? DEFAULT_RESPONSE_TYPES)],
            },
          }
        : { SourceAlgorithmSpecification: { SourceAlgorithms: [{ AlgorithmName: algorithm, ModelDataUrl: modelDataUrl }] } }),
      CustomerMetadataProperties: {
        tunewireJobId: metadataValue(jobId),
        trialId: metadataValue(trial.trialId),
        objectiveMetric: metadataValue(metric),
        objectiveGoal: spec.objective.goal,
        ...(value !== undefined ? { objectiveValue: metadataValue(String(value)) } : {}),
      },
      ClientToken: clientToken(jobId, trial.trialId),
    };
  }

  private async describeTrainingJob(name: string): Promise<DescribeTrainingJobCommandOutput> {
    try {
      return await this.client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    } catch (error) {
      // SageMaker's answer for a training job it does not know is a ValidationException.
      if (isValidationException(error) || error instanceof ResourceNotFound) {
        throw new ProviderError('sagemaker', 'registerVersion', `training job ${name} was not found`, { retryable: false, code: 'PROVIDER.TRIAL_NOT_FOUND', cause: error });
      }
      throw toProviderError('registerVersion', error);
    }
  }

  /**
   * Describe first (the common case: the group exists), create when it does not. SageMaker says
   * "does not exist" and "already exists" with a plain ValidationException, so neither answer is
   * trusted by its code alone: after a refused create, Describe decides.
   */
  private async ensureGroup(name: string): Promise<void> {
    if (this.knownGroups.has(name)) return;
    if (await this.groupExists(name)) {
      this.knownGroups.add(name);
      return;
    }
    try {
      await this.client.send(
        new CreateModelPackageGroupCommand({ ModelPackageGroupName: name, ModelPackageGroupDescription: `tunewire model ${name}: one version per promotion` }),
      );
    } catch (error) {
      const maybeExists = error instanceof ResourceInUse || isValidationException(error);
      // Lost a race with another promotion of the same model: the group is there, which is all we need.
      if (!maybeExists || !(await this.groupExists(name))) throw toProviderError('registerVersion', error);
    }
    this.knownGroups.add(name);
  }

  private async groupExists(name: string): Promise<boolean> {
    try {
      await this.client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }));
      return true;
    } catch (error) {
      if (isValidationException(error) || error instanceof ResourceNotFound) return false;
      throw toProviderError('registerVersion', error);
    }
  }
}

/**
 * CreateModelPackage's ClientToken (1 to 36 of [a-zA-Z0-9-]): the same job and trial always give
 * the same token, so SageMaker answers a retried promotion with the package it already made.
 */
export function clientToken(jobId: string, trialId: string): string {
  const h = createHash('sha256').update(`tunewire\n${jobId}\n${trialId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** CustomerMetadataProperties values: at most 256 of letters, digits, spaces and _ . : / = + - @. */
function metadataValue(text: string): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
