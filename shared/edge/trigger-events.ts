import { posix } from 'node:path';
import * as z from 'zod';
import { EventValidationError, ValidationError } from '../domain/errors';
import { EVENT_SOURCE, detailTypeOf } from '../domain/events';
import { boundedId, ID_LIMITS, idLengthIssue, RESERVED_NAMES } from '../domain/limits';
import { zodIssues } from '../domain/spec';
import type { TemplateOverrides, TemplateRecord } from '../ports/templates';
import type { TemplateDependencies } from '../use-cases/manage-templates';
import { onJobFinished, triggerTemplate, type TemplateOutcome, type TriggerTemplateInput } from '../use-cases/trigger-template';
import { checkEventShape, decodePushData, MAX_PUSH_BYTES, parseDetail, parseTransportEvent, type EventBridgeEnvelope } from './envelopes';

export const S3_SOURCE = 'aws.s3';
export const S3_OBJECT_CREATED = 'Object Created';
export const DATASET_SOURCE = 'tunewire.datasets';
export const DATASET_READY = 'Dataset Ready';

/** New data, whichever pipeline announced it; matched to templates afterwards. */
export interface DataSignal {
  readonly source: 's3' | 'dataset-ready' | 'pubsub';
  readonly eventId: string;
  readonly at: string;
  /** The full object or dataset URI, for prefix matching. */
  readonly object?: string;
  readonly dataset?: string;
  readonly template?: string;
  readonly dedupeKey: string;
  readonly overrides: TemplateOverrides;
}

// reserved keys are looked for in the input: a record schema drops a `__proto__` key without a word
const labels = z
  .unknown()
  .superRefine((map, ctx) => {
    if (typeof map !== 'object' || map === null) return;
    for (const key of Object.keys(map)) if (RESERVED_NAMES.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'is a reserved name' });
  })
  .pipe(z.record(z.string(), z.string()))
  .optional();

// A dataset and a data location make the debounce key `DEB#<dataset>:<location>`, so both are bounded.
const dataset = boundedId(ID_LIMITS.dataset);
const location = boundedId(ID_LIMITS.dataLocation);

const s3Detail = z.object({
  // S3's own rule: 3 to 63 characters
  bucket: z.object({ name: z.string().min(3).max(63) }),
  object: z.object({ key: z.string().min(1) }),
});

const datasetDetail = z.object({ dataset, location, labels });

const pubsubData = z.object({ location, labels });
const pubsubAttributes = z.object({ template: boundedId(ID_LIMITS.templateName).optional(), dataset });

/**
 * S3 `Object Created` (EventBridge notifications on the bucket). The object's directory is the
 * data: the job reads `s3://bucket/<dir>/`, and every object of one upload (one directory) shares
 * the dedupe key, so a burst of part files starts one job.
 */
export function s3ObjectCreated(envelope: EventBridgeEnvelope): DataSignal {
  const detail = parseDetail(s3Detail, envelope, 'S3 Object Created');
  const key = detail.object.key;
  const dir = posix.dirname(key);
  const location = `s3://${detail.bucket.name}/${dir === '.' ? '' : `${dir}/`}`;
  const tooLong = idLengthIssue('detail.object.key', location, ID_LIMITS.dataLocation);
  if (tooLong) throw new EventValidationError('S3 Object Created', [{ ...tooLong, message: `is in a directory too long to start a job from: ${tooLong.message.replace(/^is /, 's3://bucket/directory/ is ')}` }]);
  return { source: 's3', eventId: envelope.id, at: envelope.time ?? new Date(0).toISOString(), object: `s3://${detail.bucket.name}/${key}`, dedupeKey: location, overrides: { dataLocation: location } };
}

/** `Dataset Ready` from a data pipeline (source tunewire.datasets): `{ dataset, location, labels? }`. */
export function datasetReady(envelope: EventBridgeEnvelope): DataSignal {
  const detail = parseDetail(datasetDetail, envelope, 'Dataset Ready');
  return {
    source: 'dataset-ready',
    eventId: envelope.id,
    at: envelope.time ?? new Date(0).toISOString(),
    dataset: detail.dataset,
    dedupeKey: `${detail.dataset}:${detail.location}`,
    overrides: { dataLocation: detail.location, ...(detail.labels ? { labels: detail.labels } : {}) },
  };
}

/** A Pub/Sub push whose attributes name the dataset (and maybe the template) and whose data is `{ location, labels? }`. */
export function pubsubDataMessage(raw: unknown, fallbackTime: string): DataSignal {
  const subject = 'Pub/Sub data message';
  checkEventShape(raw, subject, { maxBytes: MAX_PUSH_BYTES });
  const parsed = z
    .object({
      message: z.object({
        data: z.string().min(1),
        attributes: pubsubAttributes,
        messageId: boundedId(ID_LIMITS.eventId),
        publishTime: z.string().optional(),
      }),
      subscription: z.string().min(1),
    })
    .safeParse(raw);
  if (!parsed.success) throw new EventValidationError(subject, zodIssues(parsed.error), { cause: parsed.error });
  const { message } = parsed.data;
  const json = decodePushData(message.data, subject);
  const data = pubsubData.safeParse(json);
  if (!data.success) throw new EventValidationError(subject, zodIssues(data.error, 'message.data'), { cause: data.error });
  return {
    source: 'pubsub',
    eventId: message.messageId,
    at: message.publishTime ?? fallbackTime,
    dataset: message.attributes.dataset,
    ...(message.attributes.template ? { template: message.attributes.template } : {}),
    dedupeKey: `${message.attributes.dataset}:${data.data.location}`,
    overrides: { dataLocation: data.data.location, ...(data.data.labels ? { labels: data.data.labels } : {}) },
  };
}

/** True for a push whose attributes carry `dataset` (a data message, not one of our CloudEvents). */
function isPubSubDataMessage(raw: unknown): boolean {
  const attributes = (raw as { message?: { attributes?: Record<string, unknown> } } | null)?.message?.attributes;
  return typeof attributes?.['dataset'] === 'string' && attributes['ce-type'] === undefined;
}

/** The templates a signal starts: by name, by S3 prefix, or by dataset name. */
export function matchTemplates(signal: DataSignal, templates: readonly TemplateRecord[]): TemplateRecord[] {
  if (signal.template) return templates.filter((t) => t.name === signal.template);
  if (signal.object) {
    const object = signal.object;
    return templates.filter((t) => t.triggers.s3Prefix !== undefined && object.startsWith(t.triggers.s3Prefix));
  }
  return templates.filter((t) => signal.dataset !== undefined && t.triggers.datasetName === signal.dataset);
}

export function toTriggerInput(signal: DataSignal, template: TemplateRecord): TriggerTemplateInput {
  return { template: template.name, overrides: signal.overrides, dedupeKey: signal.dedupeKey, source: signal.source, at: signal.at, eventId: signal.eventId };
}

export type TriggerHandled = TemplateOutcome & { readonly results?: readonly (TemplateOutcome & { readonly template: string })[] };

/**
 * The trigger function's body: S3 Object Created, Dataset Ready, a Pub/Sub data message, or our
 * own Tuning Job Finished (which frees the template's running slot and starts a queued trigger).
 */
export async function handleTriggerEvent(deps: TemplateDependencies, raw: unknown): Promise<TriggerHandled> {
  try {
    let signal: DataSignal;
    if (isPubSubDataMessage(raw)) {
      signal = pubsubDataMessage(raw, deps.clock.now().toISOString());
    } else {
      const { envelope } = parseTransportEvent(raw, 'trigger event');
      if (envelope.source === EVENT_SOURCE && envelope['detail-type'] === detailTypeOf('job.finished')) {
        return onJobFinished(deps, parseDetail(z.object({ jobId: boundedId(ID_LIMITS.jobId) }), envelope, 'Tuning Job Finished'));
      }
      if (envelope.source === S3_SOURCE && envelope['detail-type'] === S3_OBJECT_CREATED) signal = s3ObjectCreated(envelope);
      else if (envelope.source === DATASET_SOURCE && envelope['detail-type'] === DATASET_READY) signal = datasetReady(envelope);
      else return { outcome: 'ignored', detail: `trigger has no parser for ${envelope.source} / ${envelope['detail-type']}` };
    }
    const matched = matchTemplates(signal, await deps.templates.listTemplates());
    if (!matched.length) return { outcome: 'ignored', detail: `no template is triggered by ${signal.object ?? signal.dataset ?? signal.template}` };
    const results = [];
    for (const template of matched) results.push({ template: template.name, ...(await triggerTemplate(deps, toTriggerInput(signal, template))) });
    const submitted = results.filter((r) => r.decision === 'submitted');
    return {
      outcome: submitted.length ? 'applied' : (results[0]?.outcome ?? 'ignored'),
      ...(submitted[0]?.jobId ? { jobId: submitted[0].jobId } : {}),
      detail: results.map((r) => `${r.template}: ${r.decision ?? r.outcome}`).join('; '),
      results,
    };
  } catch (error) {
    if (error instanceof ValidationError) return { outcome: 'rejected', detail: error.message };
    throw error;
  }
}
