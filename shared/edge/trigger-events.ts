import { posix } from 'node:path';
import * as z from 'zod';
import { EventValidationError, ValidationError } from '../domain/errors';
import { EVENT_SOURCE, detailTypeOf } from '../domain/events';
import type { TemplateOverrides, TemplateRecord } from '../ports/templates';
import type { TemplateDependencies } from '../use-cases/manage-templates';
import { onJobFinished, triggerTemplate, type TemplateOutcome, type TriggerTemplateInput } from '../use-cases/trigger-template';
import { parseDetail, parseTransportEvent, type EventBridgeEnvelope } from './envelopes';

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

const labels = z.record(z.string(), z.string()).optional();

const s3Detail = z.object({
  bucket: z.object({ name: z.string().min(1) }),
  object: z.object({ key: z.string().min(1) }),
});

const datasetDetail = z.object({
  dataset: z.string().min(1),
  location: z.string().min(1),
  labels,
});

const pubsubData = z.object({ location: z.string().min(1), labels });
const pubsubAttributes = z.object({ template: z.string().min(1).optional(), dataset: z.string().min(1) });

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
  const parsed = z
    .object({
      message: z.object({
        data: z.string().min(1),
        attributes: pubsubAttributes,
        messageId: z.string().min(1),
        publishTime: z.string().optional(),
      }),
      subscription: z.string().min(1),
    })
    .safeParse(raw);
  if (!parsed.success) throw new EventValidationError('Pub/Sub data message', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  const { message } = parsed.data;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch (error) {
    throw new EventValidationError('Pub/Sub data message', [{ path: 'message.data', message: 'must be base64 of a JSON document' }], { cause: error });
  }
  const data = pubsubData.safeParse(json);
  if (!data.success) throw new EventValidationError('Pub/Sub data message', data.error.issues.map((i) => ({ path: ['message.data', ...i.path].join('.'), message: i.message })));
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
        return onJobFinished(deps, parseDetail(z.object({ jobId: z.string().min(1) }), envelope, 'Tuning Job Finished'));
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
