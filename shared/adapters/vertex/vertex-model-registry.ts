import type { protos, v1 } from '@google-cloud/aiplatform';
import { ProviderError } from '../../domain/errors';
import type { ModelRegistry } from '../../ports/provider';
import { QUIET_PAGING, grpcCode, toProviderError } from './vertex-provider';
import { JOB_ID_LABEL, vertexParent } from './vertex-spec';

type IModel = protos.google.cloud.aiplatform.v1.IModel;
type IUploadModelRequest = protos.google.cloud.aiplatform.v1.IUploadModelRequest;
type RegisterInput = Parameters<ModelRegistry['registerVersion']>[0];

/** The label that names the trial a model version came from; with `tunewire-job-id` it finds a retried promotion's version. */
export const TRIAL_ID_LABEL = 'tunewire-trial-id';

/** The alias that marks the champion version, unless the registry is told another. */
export const DEFAULT_ALIAS = 'champion';

/**
 * The serving image when neither the spec (`trial.servingImage`) nor the registry options name
 * one: Vertex's pre-built XGBoost 1.7 CPU prediction container, from the Artifact Registry
 * multi-region nearest the location (us, europe or asia). It serves `model.bst`, `model.joblib`
 * or `model.pkl` from the artifact directory; models of other frameworks need `servingImage`.
 *
 * @example defaultServingImage('europe-west4') // 'europe-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest'
 */
export function defaultServingImage(location: string): string {
  const multiRegion = location.startsWith('europe') ? 'europe' : location.startsWith('asia') || location.startsWith('australia') ? 'asia' : 'us';
  return `${multiRegion}-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest`;
}

/**
 * The registry model's id, derived from the tunewire model name so every promotion of `churn`
 * lands in the same Vertex model without a lookup by display name: lowercase, and starting with a
 * letter as Vertex model ids must (`[a-z_][a-z0-9_-]{0,62}`). `Churn` and `churn` share a model.
 *
 * @example vertexModelId('Churn-XGB') // 'churn-xgb'; vertexModelId('2024-churn') // 'm2024-churn'
 */
export function vertexModelId(model: string): string {
  const lower = model.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  return (/^[a-z_]/.test(lower) ? lower : `m${lower}`).slice(0, 63);
}

/** A label value: at most 63 lowercase letters, digits, `_` and `-`. */
function labelValue(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 63);
}

const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$/;

export interface VertexModelRegistryOptions {
  /** Built once by the composition root for the region: `new v1.ModelServiceClient({ apiEndpoint: `${location}-aiplatform.googleapis.com` })`. */
  readonly modelClient: v1.ModelServiceClient;
  /** Where the models live; default the spec's `trial.project` / `trial.location`. */
  readonly project?: string;
  readonly location?: string;
  /** The version alias that marks the champion; default `champion`. */
  readonly alias?: string;
  /** The serving image when the spec names none; default {@link defaultServingImage}. */
  readonly servingImage?: string;
}

/**
 * Vertex AI Model Registry: a tunewire model is one Vertex model (id from {@link vertexModelId}),
 * each promotion a version of it carrying the winning trial's artifact, and the champion is the
 * version holding the alias (`champion`; aliases are unique within a model, so moving it is one
 * call).
 *
 * 1. Look the model up by its id. If it exists, look for a version labelled with this job and
 *    trial: a retried promotion finds the version the first attempt made and only moves the alias.
 * 2. Otherwise upload: the model with its first version (alias set at once), or a new version with
 *    `parentModel`, labelled `tunewire-job-id` and `tunewire-trial-id`; wait for the operation.
 * 3. Move the alias to the version (MergeVersionAliases), and answer `<model name>@<version id>`.
 *
 * A retry of an old promotion after a newer one has finished moves the alias back to the old
 * version; the ledger's conditional champion write is what refuses such a promotion first.
 *
 * @example
 *   const registry = new VertexModelRegistry({ modelClient, project: 'tunewire-demo', location: 'us-central1' });
 *   const { version } = await registry.registerVersion({ model: 'churn', jobId, ref, trial, spec });
 *   // version: projects/tunewire-demo/locations/us-central1/models/churn@3
 */
export class VertexModelRegistry implements ModelRegistry {
  private readonly client: v1.ModelServiceClient;
  private readonly alias: string;

  constructor(private readonly options: VertexModelRegistryOptions) {
    this.client = options.modelClient;
    this.alias = options.alias ?? DEFAULT_ALIAS;
    if (!ALIAS.test(this.alias) || /^\d+$/.test(this.alias) || this.alias === 'default') {
      throw new RangeError(`alias must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9-] and not be "default", not ${JSON.stringify(this.alias)}`);
    }
  }

  async registerVersion(input: RegisterInput): Promise<{ readonly version: string }> {
    const { model, jobId, trial, spec } = input;
    const artifactUri = trial.artifactUri;
    if (!artifactUri) {
      throw new ProviderError('vertex', 'registerVersion', `trial ${trial.trialId} of job ${jobId} has no model artifact (no baseOutputDirectory?)`, {
        retryable: false,
        code: 'PROVIDER.NO_ARTIFACT',
      });
    }
    const { parent, location } = this.where(input);
    const modelName = `${parent}/models/${vertexModelId(model)}`;
    const labels = { [JOB_ID_LABEL]: labelValue(jobId), [TRIAL_ID_LABEL]: labelValue(trial.trialId) };

    // Two attempts at most: the second only when another promotion made the model between our Get and our upload.
    for (let attempt = 1; ; attempt++) {
      const existing = await this.getModel(modelName);
      if (existing) {
        const earlier = await this.findVersion(modelName, labels);
        if (earlier?.versionId) {
          if (!earlier.versionAliases?.includes(this.alias)) await this.moveAlias(modelName, earlier.versionId);
          return { version: `${modelName}@${earlier.versionId}` };
        }
      }
      const servingImage = stringField(spec.trial, 'servingImage') ?? this.options.servingImage ?? defaultServingImage(location);
      const request: IUploadModelRequest = {
        parent,
        ...(existing ? { parentModel: modelName } : { modelId: vertexModelId(model) }),
        model: {
          displayName: model,
          versionDescription: truncate(`tunewire job ${jobId}, trial ${trial.trialId}: ${spec.objective.metric} = ${trial.objectiveValue ?? 'n/a'} (${spec.objective.goal})`, 1000),
          artifactUri,
          containerSpec: { imageUri: servingImage },
          labels,
          // A first version takes the alias at once; a later one gets it moved below, so the upload never depends on how Vertex treats a taken alias.
          versionAliases: existing ? [] : [this.alias],
        },
      };
      let uploaded: { name: string; versionId: string };
      try {
        uploaded = await this.upload(request);
      } catch (error) {
        if (!existing && attempt === 1 && grpcCode(error) === 6) continue;
        throw toProviderError('registerVersion', error, { what: `model ${modelName}`, code: 'PROVIDER.NOT_FOUND' });
      }
      await this.moveAlias(uploaded.name, uploaded.versionId);
      return { version: `${uploaded.name}@${uploaded.versionId}` };
    }
  }

  // -------------------------------------------------------------------------------------------

  private where(input: RegisterInput): { parent: string; location: string } {
    const project = this.options.project ?? stringField(input.spec.trial, 'project');
    const location = this.options.location ?? stringField(input.spec.trial, 'location');
    if (!project || !location) {
      throw new ProviderError('vertex', 'registerVersion', 'no project and location: neither the registry options nor the spec (trial.project, trial.location) name them', {
        retryable: false,
        code: 'PROVIDER.BAD_CONFIG',
      });
    }
    return { parent: vertexParent({ project, location }), location };
  }

  private async getModel(name: string): Promise<IModel | undefined> {
    try {
      const [model] = await this.client.getModel({ name });
      return model;
    } catch (error) {
      if (grpcCode(error) === 5) return undefined;
      throw toProviderError('registerVersion', error);
    }
  }

  private async findVersion(modelName: string, labels: Readonly<Record<string, string>>): Promise<IModel | undefined> {
    const filter = Object.entries(labels)
      .map(([key, value]) => `labels.${key}=${JSON.stringify(value)}`)
      .join(' AND ');
    try {
      for await (const version of this.client.listModelVersionsAsync({ name: modelName, filter }, QUIET_PAGING)) return version;
    } catch (error) {
      throw toProviderError('registerVersion', error, { what: `model ${modelName}`, code: 'PROVIDER.NOT_FOUND' });
    }
    return undefined;
  }

  /** UploadModel, and the long-running operation it starts, to its end. */
  private async upload(request: IUploadModelRequest): Promise<{ name: string; versionId: string }> {
    const [operation] = await this.client.uploadModel(request);
    const [response] = await operation.promise();
    if (!response.model || !response.modelVersionId) {
      throw new ProviderError('vertex', 'registerVersion', `UploadModel finished without a model name and version id (operation ${operation.name})`, {
        retryable: false,
        code: 'PROVIDER.BAD_RESPONSE',
      });
    }
    return { name: response.model, versionId: response.modelVersionId };
  }

  /** The alias moves to this version; Vertex takes it off whichever version held it. */
  private async moveAlias(modelName: string, versionId: string): Promise<void> {
    try {
      await this.client.mergeVersionAliases({ name: `${modelName}@${versionId}`, versionAliases: [this.alias] });
    } catch (error) {
      throw toProviderError('registerVersion', error, { what: `model version ${modelName}@${versionId}`, code: 'PROVIDER.NOT_FOUND' });
    }
  }
}

function stringField(record: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
