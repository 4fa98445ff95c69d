import * as z from 'zod';
import { SpecValidationError, ValidationError } from './errors';
import { parseSpec, zodIssues, type TuningSpec } from './spec';
import type { TemplateOverrides, TemplateSettings } from '../ports/templates';

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;

export const templateNameSchema = z.string().min(1).max(63).regex(NAME, 'must be letters, digits and dashes, starting and ending with a letter or digit');

/** The HMAC header an inbound `hmac` webhook carries when the template names none. */
export const DEFAULT_HMAC_HEADER = 'x-tunewire-signature';
/** The optional signed timestamp of an inbound `hmac` webhook: Unix seconds, signed as `<timestamp>.<body>`. */
export const HMAC_TIMESTAMP_HEADER = 'x-tunewire-timestamp';
/** Headers an `hmac` template may not name as its signature header: the schemes read them. */
const RESERVED_HMAC_HEADERS: ReadonlySet<string> = new Set([HMAC_TIMESTAMP_HEADER, 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
export const MIN_STANDARD_SECRET_BYTES = 16;

/** Canonical padded base64: what Node's encoder writes, so Node and the standardwebhooks package decode it alike. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`), or undefined when the secret is
 * not one: not prefixed, not canonical padded base64, or under MIN_STANDARD_SECRET_BYTES. The
 * template schema refuses such a secret at put; the inbound check treats a stored one as no key.
 *
 * @example
 *   standardWebhookKey(`whsec_${randomBytes(32).toString('base64')}`) // a 32-byte Buffer
 *   standardWebhookKey('whsec_not*base64!')                          // undefined
 */
export function standardWebhookKey(secret: string): Buffer | undefined {
  if (!secret.startsWith('whsec_')) return undefined;
  const encoded = secret.slice('whsec_'.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  // a final character with stray low bits decodes, but differently in other decoders
  if (key.toString('base64') !== encoded || key.length < MIN_STANDARD_SECRET_BYTES) return undefined;
  return key;
}

/**
 * A template document as `tunewire templates put` and `PUT /templates/{name}` take it:
 *
 *   spec: { ...a tuning spec... }
 *   policy: queue              # queue | drop: what a trigger does while a job of the template runs
 *   debounceSeconds: 300       # one job per dataset directory / event key within this window
 *   triggers:
 *     s3Prefix: s3://data/churn/
 *     datasetName: churn-daily
 *     pubsubTopic: churn-data
 *     webhook: { kind: standard, secret: whsec_<base64> }   # or { kind: hmac, secret: ..., header: x-signature }
 */
export const templateDocumentSchema = z.strictObject({
  spec: z.record(z.string(), z.unknown()),
  policy: z.enum(['queue', 'drop']).default('queue'),
  debounceSeconds: z.number().int('must be an integer').min(0).max(86_400).default(300),
  triggers: z
    .strictObject({
      s3Prefix: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be s3://bucket/prefix').optional(),
      datasetName: z.string().min(1).max(256).optional(),
      pubsubTopic: z.string().min(1).max(255).optional(),
      webhook: z
        .strictObject({
          kind: z.enum(['standard', 'hmac']),
          secret: z.string().min(16, 'must be at least 16 characters'),
          header: z.string().regex(/^[a-zA-Z0-9-]+$/, 'must be an HTTP header name').optional(),
        })
        .superRefine((w, ctx) => {
          if (w.kind === 'standard' && !standardWebhookKey(w.secret)) {
            ctx.addIssue({ code: 'custom', path: ['secret'], message: `must be whsec_ followed by padded base64 of at least ${MIN_STANDARD_SECRET_BYTES} bytes for Standard Webhooks` });
          }
          if (w.kind === 'standard' && w.header) ctx.addIssue({ code: 'custom', path: ['header'], message: 'is only for kind hmac' });
          if (w.header && RESERVED_HMAC_HEADERS.has(w.header.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['header'], message: `must not be ${w.header.toLowerCase()}, a header the webhook scheme reads itself` });
        })
        .optional(),
    })
    .default({}),
});

export interface TemplateDocument {
  readonly spec: TuningSpec;
  readonly settings: TemplateSettings;
}

/** Parses a template document; every bad field is named (spec fields under `spec.`). */
export function parseTemplateDocument(input: unknown, subject = 'template'): TemplateDocument {
  const parsed = templateDocumentSchema.safeParse(input);
  const issues = parsed.success ? [] : zodIssues(parsed.error).filter((i) => i.path !== 'spec' && !i.path.startsWith('spec.'));
  // the spec is checked even when other fields are bad, so one reply names every bad field
  const rawSpec = (input as { spec?: unknown } | null)?.spec;
  let spec: TuningSpec | undefined;
  try {
    spec = parseSpec(rawSpec, `${subject}.spec`);
  } catch (error) {
    if (!(error instanceof SpecValidationError)) throw error;
    issues.push(...error.issues.map((i) => ({ ...i, path: i.path ? `spec.${i.path}` : 'spec' })));
  }
  if (!parsed.success || !spec || issues.length) throw new ValidationError(subject, issues, parsed.success ? {} : { cause: parsed.error });
  const { policy, debounceSeconds, triggers } = parsed.data;
  return { spec, settings: { policy, debounceSeconds, triggers: dropUndefined(triggers) } };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The argument a Vertex or ML Engine trainer receives the data location in. */
export const DATA_ARG = '--data';
/** The environment variable a local trial receives the data location in (`{{data}}` in its command works too). */
export const DATA_ENV = 'TUNEWIRE_DATA';

type Trial = Record<string, unknown>;
const isRecord = (v: unknown): v is Trial => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A template's spec with a trigger's overrides applied. Where the data location goes depends on
 * the provider, as each one hands input to the trainer differently:
 *
 * - sagemaker: the first input channel's `s3Uri` (`trial.inputs[0].s3Uri`)
 * - local: `TUNEWIRE_DATA` in `trial.env`, and `{{data}}` in `trial.command`
 * - vertex: `--data=<location>` appended to the chief pool's container or python package args
 *   (`trial.workerPoolSpecs[0]`), replacing an earlier `--data=`
 * - mlengine: `--data=<location>` in `trial.args`, likewise
 *
 * Labels are merged over the template's. The provider's `validate` still runs at submit.
 */
export function applyOverrides(spec: TuningSpec, overrides: TemplateOverrides): TuningSpec {
  const next: TuningSpec = structuredClone(spec);
  if (overrides.labels) next.labels = { ...next.labels, ...overrides.labels };
  const location = overrides.dataLocation;
  if (location === undefined) return next;
  const trial: Trial = next.trial;
  const refuse = (path: string, message: string): never => {
    throw new SpecValidationError('template', [{ path, message }]);
  };
  const withDataArg = (args: unknown): string[] => [...(Array.isArray(args) ? args.map(String) : []).filter((a) => !a.startsWith(`${DATA_ARG}=`)), `${DATA_ARG}=${location}`];

  switch (next.provider) {
    case 'sagemaker': {
      const first = Array.isArray(trial['inputs']) ? (trial['inputs'][0] as unknown) : undefined;
      if (!isRecord(first)) return refuse('trial.inputs', 'the template has no input channel to receive the data location');
      if (!location.startsWith('s3://')) return refuse('dataLocation', 'must be an s3:// URI for a SageMaker template');
      first['s3Uri'] = location;
      return next;
    }
    case 'local': {
      trial['env'] = { ...(isRecord(trial['env']) ? trial['env'] : {}), [DATA_ENV]: location };
      // split/join, not replaceAll: a replacement string reads `$&`, `$'` and `` $` `` as patterns
      if (Array.isArray(trial['command'])) trial['command'] = trial['command'].map((a) => String(a).split('{{data}}').join(location));
      return next;
    }
    case 'vertex': {
      const chief = Array.isArray(trial['workerPoolSpecs']) ? (trial['workerPoolSpecs'][0] as unknown) : undefined;
      const code = isRecord(chief) ? (isRecord(chief['container']) ? chief['container'] : isRecord(chief['pythonPackage']) ? chief['pythonPackage'] : undefined) : undefined;
      if (!code) return refuse('trial.workerPoolSpecs[0]', 'the chief pool has no container or pythonPackage to pass the data location to');
      code['args'] = withDataArg(code['args']);
      return next;
    }
    case 'mlengine': {
      trial['args'] = withDataArg(trial['args']);
      return next;
    }
  }
}
