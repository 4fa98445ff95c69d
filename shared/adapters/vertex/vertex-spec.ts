import type { protos } from '@google-cloud/aiplatform';
import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from '../../domain/errors';
import { zodIssues, type TuningSpec } from '../../domain/spec';

/**
 * The spec's `trial` section for provider `vertex`, and every Vertex AI rule tunewire checks before
 * it sends a HyperparameterTuningJob. Sources: the HyperparameterTuningJob reference and the
 * Airflow hook in ../reference, and the v1 protos shipped in @google-cloud/aiplatform
 * (hyperparameter_tuning_job, study, custom_job, machine_resources, encryption_spec, env_var).
 *
 * @example
 *   trial:
 *     project: tunewire-demo
 *     location: us-central1
 *     workerPoolSpecs:
 *       - machineType: n1-standard-8
 *         container: { imageUri: us-docker.pkg.dev/tunewire-demo/train/churn:1.4.0, args: [--epochs=20] }
 *     baseOutputDirectory: gs://tunewire-demo-artifacts/churn
 */

/** Every AcceleratorType of the v1 proto but UNSPECIFIED; the `satisfies` keeps the list in step with the client's enum. */
export const ACCELERATOR_TYPES = [
  'NVIDIA_TESLA_K80',
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P4',
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_L4',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
  'NVIDIA_GB200',
  'NVIDIA_RTX_PRO_6000',
  'TPU_V2',
  'TPU_V3',
  'TPU_V4_POD',
  'TPU_V5_LITEPOD',
] as const satisfies readonly (keyof typeof protos.google.cloud.aiplatform.v1.AcceleratorType)[];

/** DiskSpec.boot_disk_type: "Valid values: pd-ssd, pd-standard or hyperdisk-balanced". */
export const DISK_TYPES = ['pd-ssd', 'pd-standard', 'hyperdisk-balanced'] as const;

/** The label tunewire adds to every job: Vertex assigns resource ids, so this label is how a retried submit finds its job. */
export const JOB_ID_LABEL = 'tunewire-job-id';

/** Vertex's display-name limit, in Unicode code points ("up to 128 characters ... any UTF-8 characters"). */
export const DISPLAY_NAME_MAX = 128;
/** tunewire appends ` (<job id>)` to the display name; job ids are at most 29 characters (see deriveJobId). */
const JOB_ID_MAX = 29;
export const DISPLAY_NAME_OVERRIDE_MAX = DISPLAY_NAME_MAX - JOB_ID_MAX - 3;

/** Label limits from the reference: at most 64 characters, lowercase letters (international ones too), digits, `_` and `-`; keys start with a letter. */
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,64}$/u;
const MAX_LABELS = 64;

/** Project id (6-30: lowercase letters, digits, dashes; optionally domain-scoped) or project number. */
const PROJECT = /^(?:(?:[a-z0-9-]+\.)+[a-z]+:)?(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)$/;
/** A Google Cloud region such as us-central1 or northamerica-northeast2 (training has no `global` location). */
const LOCATION = /^[a-z]+-[a-z]+[0-9]+$/;
/** Compute Engine machine types: n1-standard-8, a2-highgpu-1g, ct5lp-hightpu-4t, cloud-tpu. */
const MACHINE_TYPE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/;
/** gs://bucket[/path]; bucket names are 3-222 characters of lowercase letters, digits, `.`, `_` and `-`. */
const GCS_URI = /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:\/\S*)?$/;
/** EnvVar.name: "Must be a valid C identifier". */
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PYTHON_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const KMS_KEY = /^projects\/([^/\s]+)\/locations\/([^/\s]+)\/keyRings\/([^/\s]+)\/cryptoKeys\/([^/\s]+)$/;
const TENSORBOARD = /^projects\/[^/\s]+\/locations\/[^/\s]+\/tensorboards\/[^/\s]+$/;
/** CustomJobSpec.network: `projects/{project number}/global/networks/{network}`. */
const NETWORK = /^projects\/[0-9]+\/global\/networks\/[^/\s]+$/;
const SERVICE_ACCOUNT = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const NO_WHITESPACE = /^\S+$/;

const text = z.string().min(1, 'must not be empty');
const gcsUri = z.string().regex(GCS_URI, 'must be a gs:// URI (gs://bucket/path)');
const imageUri = z.string().regex(NO_WHITESPACE, 'must be a container image URI without whitespace');

const env = z
  .array(
    z.strictObject({
      name: z.string().regex(C_IDENTIFIER, 'must be a C identifier: letters, digits and underscores, not starting with a digit'),
      value: z.string(),
    }),
  )
  .max(100, 'takes at most 100 variables');

/** ContainerSpec: a custom training image. */
const container = z.strictObject({
  imageUri,
  /** Overrides the image's ENTRYPOINT. */
  command: z.array(text).optional(),
  /** Vertex appends `--<parameter>=<value>` for the tuned values; tunewire appends the static hyperparameters the same way. */
  args: z.array(z.string()).optional(),
  env: env.optional(),
});

/** PythonPackageSpec: a Python package run on one of Vertex's pre-built training images. */
const pythonPackage = z.strictObject({
  executorImageUri: imageUri,
  packageUris: z.array(gcsUri).min(1, 'needs at least one package').max(100, 'takes at most 100 packages'),
  pythonModule: z.string().regex(PYTHON_MODULE, 'must be a dotted Python module name, e.g. trainer.task'),
  args: z.array(z.string()).optional(),
  env: env.optional(),
});

/**
 * One WorkerPoolSpec. The first pool is the chief and runs one replica; pools after it are
 * workers, parameter servers and evaluators. A later pool may be `{}` to skip it ("All worker
 * pools except the first one are optional and can be skipped by providing an empty value").
 */
const workerPool = z.strictObject({
  machineType: z.string().regex(MACHINE_TYPE, 'must be a Compute Engine machine type such as n1-standard-8').optional(),
  acceleratorType: z.enum(ACCELERATOR_TYPES, { error: () => `must be one of ${ACCELERATOR_TYPES.join(', ')}` }).optional(),
  /** Defaults to 1 when acceleratorType is set. */
  acceleratorCount: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  replicaCount: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  diskType: z.enum(DISK_TYPES, { error: () => `must be one of ${DISK_TYPES.join(', ')}` }).optional(),
  /** Boot disk size; Vertex's default is 100 GB and its custom-training range 100 to 64,000 GB. */
  diskSizeGb: z.number().int('must be an integer').min(100, 'must be at least 100 (GB)').max(64_000, 'must be at most 64000 (GB)').optional(),
  container: container.optional(),
  pythonPackage: pythonPackage.optional(),
});

export const vertexTrialSpecSchema = z.strictObject({
  /** The Google Cloud project the job runs in. */
  project: z.string().regex(PROJECT, 'must be a Google Cloud project id (6-30 lowercase letters, digits and dashes, starting with a letter) or number'),
  /** The region, e.g. us-central1. */
  location: z.string().regex(LOCATION, 'must be a Google Cloud region such as us-central1'),
  /** At most four pools: chief, workers, parameter servers, evaluators. */
  workerPoolSpecs: z.array(workerPool).min(1, 'needs at least the chief pool').max(4, 'takes at most 4 pools (chief, workers, parameter servers, evaluators)'),
  /**
   * Where trials write: trial `<id>` gets `<baseOutputDirectory>/<id>/` and its model goes to
   * `AIP_MODEL_DIR` = `<baseOutputDirectory>/<id>/model/`. Required, so tunewire knows where the
   * best trial's model is.
   */
  baseOutputDirectory: gcsUri,
  /** The run-as service account; required with tensorboard. */
  serviceAccount: z.string().regex(SERVICE_ACCOUNT, 'must be a service account email').optional(),
  /** VPC to peer with: projects/{project number}/global/networks/{network}. */
  network: z.string().regex(NETWORK, 'must be projects/{project number}/global/networks/{network}').optional(),
  /** Reserved IP range names under `network`. */
  reservedIpRanges: z.array(text).min(1, 'needs at least one range when given').optional(),
  /** Per-trial limit (Scheduling.timeout, one CustomJob per trial); Vertex's default is 7 days. */
  timeoutSeconds: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  restartJobOnWorkerRestart: z.boolean().optional(),
  enableWebAccess: z.boolean().optional(),
  enableDashboardAccess: z.boolean().optional(),
  /** projects/{project}/locations/{location}/tensorboards/{tensorboard}. */
  tensorboard: z.string().regex(TENSORBOARD, 'must be projects/{project}/locations/{location}/tensorboards/{tensorboard}').optional(),
  /** Customer-managed key for the job and everything it creates; must be in the job's location. */
  encryptionKey: z.string().regex(KMS_KEY, 'must be projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{key}').optional(),
  /**
   * Vertex's own max_failed_trial_count, sent as is: 0 lets Vertex decide. Without it,
   * budget.maxFailedTrials is sent, where 0 ("tolerate no failure") becomes 1.
   */
  maxFailedTrials: z.number().int('must be an integer').min(0, 'must be at least 0').max(2_147_483_647).optional(),
  /** Replaces the spec name in the display name; tunewire still appends ` (<job id>)`. */
  displayName: z.string().min(1, 'must not be empty').optional(),
  /** The serving container image the promoted model is uploaded with (a prebuilt one by default). */
  servingImage: z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?\/[^\s]+$/, 'must be a container image URI').optional(),
});

export type VertexTrialSpec = z.output<typeof vertexTrialSpecSchema>;
export type VertexWorkerPool = VertexTrialSpec['workerPoolSpecs'][number];

const codePoints = (s: string): number => [...s].length;

/** Rules inside the trial section that the schema cannot say field by field. */
function trialRuleIssues(trial: VertexTrialSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  trial.workerPoolSpecs.forEach((pool, i) => {
    const at = `trial.workerPoolSpecs[${i}]`;
    if (Object.keys(pool).length === 0) {
      if (i === 0) issues.push({ path: at, message: 'must not be empty: the first pool is the chief' });
      return;
    }
    if (i === 0 && pool.replicaCount !== undefined && pool.replicaCount !== 1) {
      issues.push({ path: `${at}.replicaCount`, message: 'must be 1: the first pool is the chief' });
    }
    if (pool.machineType === undefined) issues.push({ path: `${at}.machineType`, message: 'is required' });
    if ((pool.container === undefined) === (pool.pythonPackage === undefined)) {
      issues.push({ path: at, message: 'needs exactly one of container, pythonPackage' });
    }
    if (pool.acceleratorCount !== undefined && pool.acceleratorType === undefined) {
      issues.push({ path: `${at}.acceleratorCount`, message: 'needs acceleratorType' });
    }
    for (const [task, spec] of [['container', pool.container], ['pythonPackage', pool.pythonPackage]] as const) {
      const seen = new Map<string, number>();
      spec?.env?.forEach((variable, j) => {
        const first = seen.get(variable.name);
        if (first !== undefined) issues.push({ path: `${at}.${task}.env[${j}].name`, message: `repeats the name of ${at}.${task}.env[${first}]` });
        else seen.set(variable.name, j);
      });
    }
  });
  if (trial.tensorboard !== undefined && trial.serviceAccount === undefined) {
    issues.push({ path: 'trial.serviceAccount', message: 'is required when tensorboard is set' });
  }
  if (trial.reservedIpRanges !== undefined && trial.network === undefined) {
    issues.push({ path: 'trial.reservedIpRanges', message: 'needs network: the ranges are reserved under a VPC network' });
  }
  const keyLocation = trial.encryptionKey !== undefined ? KMS_KEY.exec(trial.encryptionKey)?.[2] : undefined;
  if (keyLocation !== undefined && keyLocation !== trial.location) {
    issues.push({ path: 'trial.encryptionKey', message: `must be in the job's location ${trial.location} (is in ${keyLocation})` });
  }
  if (trial.displayName !== undefined && codePoints(trial.displayName) > DISPLAY_NAME_OVERRIDE_MAX) {
    issues.push({
      path: 'trial.displayName',
      message: `must be at most ${DISPLAY_NAME_OVERRIDE_MAX} characters: Vertex allows ${DISPLAY_NAME_MAX} and tunewire appends " (<job id>)"`,
    });
  }
  return issues;
}

/** Rules on the provider-neutral part of the spec that Vertex adds. */
function specRuleIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!NO_WHITESPACE.test(spec.objective.metric)) {
    issues.push({ path: 'objective.metric', message: 'must not contain whitespace (Vertex metric ids)' });
  }
  if (spec.strategy === 'hyperband') {
    issues.push({ path: 'strategy', message: 'hyperband is not supported on Vertex AI; use bayesian, random or grid' });
  }
  spec.parameters.forEach((p, i) => {
    const at = `parameters[${i}]`;
    if (!NO_WHITESPACE.test(p.name)) issues.push({ path: `${at}.name`, message: 'must not contain whitespace (Vertex parameter ids)' });
    if (p.type === 'double' && spec.strategy === 'grid') {
      issues.push({ path: `${at}.type`, message: 'double cannot be searched by grid on Vertex AI: grid search takes only integer, categorical and discrete parameters' });
    }
    if (p.type === 'double' || p.type === 'integer') {
      if (p.type === 'integer') {
        // int64 on the wire, but a JS number is exact only up to 2^53
        if (!Number.isSafeInteger(p.min)) issues.push({ path: `${at}.min`, message: 'must be a safe integer (within ±2^53)' });
        if (!Number.isSafeInteger(p.max)) issues.push({ path: `${at}.max`, message: 'must be a safe integer (within ±2^53)' });
      }
      if ((p.scale === 'log' || p.scale === 'reverse_log') && !(p.min > 0)) {
        issues.push({ path: `${at}.min`, message: `must be above 0 for scale ${p.scale}: Vertex needs the whole feasible space strictly positive` });
      }
    }
    if (p.type === 'discrete') {
      if (p.values.length > 1000) issues.push({ path: `${at}.values`, message: 'takes at most 1000 values on Vertex AI' });
      // Vertex wants the list increasing and at least 1e-10 apart; tunewire sorts it, so only closeness is an error.
      const sorted = [...p.values].sort((a, b) => a - b);
      for (let j = 1; j < sorted.length; j++) {
        const [a, b] = [sorted[j - 1] as number, sorted[j] as number];
        if (b - a < 1e-10) {
          issues.push({ path: `${at}.values`, message: `${a} and ${b} are closer than 1e-10: Vertex needs discrete values at least 1e-10 apart` });
          break;
        }
      }
    }
  });
  for (const name of Object.keys(spec.staticHyperparameters)) {
    if (!/^[^\s=]+$/.test(name)) {
      issues.push({ path: `staticHyperparameters.${name}`, message: 'must have no whitespace or "=": it is passed as --name=value' });
    }
  }
  if (spec.budget.parallelTrials > spec.budget.maxTrials) {
    issues.push({ path: 'budget.parallelTrials', message: `must not exceed maxTrials (${spec.budget.maxTrials})` });
  }
  if (spec.budget.targetObjective !== undefined) {
    issues.push({
      path: 'budget.targetObjective',
      message: 'is not supported on Vertex AI: StudySpec has no objective-value stopping condition (StudyStoppingConfig stops on trial counts, time or lack of progress only)',
    });
  }
  if (spec.warmStart !== undefined) {
    issues.push({
      path: 'warmStart',
      message: 'is not supported on Vertex AI: a HyperparameterTuningJob cannot start from earlier jobs or trials (no parent jobs in its StudySpec); remove warmStart or tune on sagemaker',
    });
  }
  issues.push(...labelIssues(spec.labels));
  return issues;
}

function labelIssues(labels: Readonly<Record<string, string>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS - 1) {
    issues.push({ path: 'labels', message: `takes at most ${MAX_LABELS - 1} labels: Vertex allows ${MAX_LABELS} and tunewire adds ${JOB_ID_LABEL}` });
  }
  for (const key of keys) {
    const at = `labels.${key}`;
    if (key === JOB_ID_LABEL) {
      issues.push({ path: at, message: 'is reserved: tunewire sets it to the job id' });
      continue;
    }
    if (!LABEL_KEY.test(key)) {
      issues.push({ path: at, message: 'key must be 1-64 lowercase letters, digits, underscores and dashes, starting with a lowercase letter' });
    }
    if (!LABEL_VALUE.test(labels[key] ?? '')) {
      issues.push({ path: at, message: 'value must be at most 64 lowercase letters, digits, underscores and dashes' });
    }
  }
  return issues;
}

/**
 * Every Vertex problem with a spec, each at its field: the `trial` section (paths `trial.…`) and
 * the provider rules on the shared fields. Empty when Vertex would accept the job.
 *
 * @example vertexSpecIssues(spec) // [{ path: 'trial.workerPoolSpecs[0].machineType', message: 'is required' }]
 */
export function vertexSpecIssues(spec: TuningSpec): FieldIssue[] {
  const parsed = vertexTrialSpecSchema.safeParse(spec.trial);
  const trialIssues = parsed.success ? trialRuleIssues(parsed.data) : zodIssues(parsed.error, 'trial');
  return [...trialIssues, ...specRuleIssues(spec)];
}

/** The `trial` section, typed, after every Vertex rule passed. Throws `SpecValidationError` naming each bad field. */
export function parseVertexTrialSpec(spec: TuningSpec, subject = 'spec'): VertexTrialSpec {
  const issues = vertexSpecIssues(spec);
  if (issues.length > 0) throw new SpecValidationError(subject, issues);
  return vertexTrialSpecSchema.parse(spec.trial);
}

/** The parent of the job's resources: `projects/{project}/locations/{location}`. */
export function vertexParent(trial: Pick<VertexTrialSpec, 'project' | 'location'>): string {
  return `projects/${trial.project}/locations/${trial.location}`;
}
