import * as z from 'zod';
import type { FieldIssue } from './errors';

/**
 * Limits on what comes in at the edge, so hostile or broken input is refused with a field error
 * instead of failing later in a way that looks transient (a DynamoDB ValidationException is
 * retried to the dead-letter queue) or that takes the process down (a stack overflow).
 */

/**
 * How deeply a spec or an event may nest objects and arrays. A real spec nests about 6 levels
 * (`trial.definitions[0].inputs[0].attributeNames[0]`), a provider event about 5; the checks that
 * walk input recurse, and DynamoDB refuses maps nested deeper than 32, so 64 leaves room for any
 * honest document and none for the 5,000-deep one that overflows the stack.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * DynamoDB's key limits, in UTF-8 bytes: a partition key at most 2048, a sort key at most 1024
 * (the same for index keys). The ledger, template and webhook stores build keys as
 * `<PREFIX>#<id>` and sort keys as `HIST#<time>#<event id>#<suffix>`, so each id below is capped
 * well under what is left of 1024 after the longest prefix that carries it.
 */
export const DYNAMODB_PARTITION_KEY_BYTES = 2048;
export const DYNAMODB_SORT_KEY_BYTES = 1024;

/**
 * Id limits, in UTF-8 bytes.
 *
 * - event ids go into `SEEN#<id>` and `HIST#<27-char time>#<id>#<12 hex>` (46 bytes around the
 *   id), `TRIG#<time>#<source>:<id>` and `HOOK#<id>`: 512 leaves room in every one of them, and
 *   is ten times a UUID, a Pub/Sub message id or a Standard Webhooks id;
 * - job ids (`JOB#<id>`, also the sort key `PROMO#<time>#<id>`) are 29 characters when tunewire
 *   makes them; trial ids (`TRIAL#<id>`) are a provider's training job or trial name (SageMaker 63,
 *   ML Engine and Vertex numbers); provider job names (`PJOB#<provider>#<name>`), template names
 *   (`TPL#<name>`), model names (`MODEL#<name>`) and subscription ids (`SUB#<id>`) are short too:
 *   256 each is generous and sits far below the limits;
 * - idempotency keys are hashed into the job id, never stored as keys: 256, as before;
 * - a data location becomes part of a debounce key, `DEB#<dataset (256)>:<location>`, so 700
 *   keeps that under 1024.
 */
export const ID_LIMITS = {
  eventId: 512,
  jobId: 256,
  trialId: 256,
  providerJobName: 256,
  templateName: 256,
  modelName: 256,
  subscriptionId: 256,
  idempotencyKey: 256,
  dataset: 256,
  dataLocation: 700,
} as const;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The issue for an id over its byte limit (UTF-8, as DynamoDB counts), or undefined. */
export function idLengthIssue(path: string, value: string, maxBytes: number): FieldIssue | undefined {
  const bytes = utf8Bytes(value);
  return bytes > maxBytes ? { path, message: `is ${bytes} bytes long; at most ${maxBytes} bytes (UTF-8) are allowed` } : undefined;
}

/** A zod string of 1 to `maxBytes` UTF-8 bytes. */
export function boundedId(maxBytes: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => utf8Bytes(s) <= maxBytes, { error: (issue) => `is ${utf8Bytes(String(issue.input))} bytes long; at most ${maxBytes} bytes (UTF-8) are allowed` });
}

/** Where the first container nested deeper than the limit sits, e.g. `trial.a.a.a`; undefined when none does. */
export interface DepthReport {
  readonly path: string;
  /** The top-level field the deep container is under (`trial`, `detail`); empty at the root. */
  readonly field: string;
  readonly depth: number;
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly key: string | number | undefined;
  readonly parent: Frame | undefined;
}

/** Paths in reports are cut: a hostile key may be long, and the path is for a person to read. */
const MAX_REPORTED_PATH = 200;

function keysOf(frame: Frame): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f && f.key !== undefined; f = f.parent) keys.push(f.key);
  return keys.reverse();
}

function formatKeys(keys: readonly (string | number)[]): string {
  let path = '';
  for (const key of keys) {
    path += typeof key === 'number' ? `[${key}]` : path ? `.${key}` : key;
    if (path.length > MAX_REPORTED_PATH) return `${path.slice(0, MAX_REPORTED_PATH)}…`;
  }
  return path;
}

/**
 * Finds the first object or array nested deeper than `maxDepth` (the value itself is depth 1 when
 * it is an object or array). Iterative, with an explicit stack, so the check itself cannot
 * overflow; it stops at the first container too deep, and a cycle is reported as too deep.
 *
 * @example tooDeep({ a: { b: [1] } }, 2) // { path: 'a.b', depth: 3 }
 */
export function tooDeep(value: unknown, maxDepth = MAX_NESTING_DEPTH): DepthReport | undefined {
  const stack: Frame[] = [{ value, depth: 1, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const { value: node, depth } = frame;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) {
      const keys = keysOf(frame);
      return { path: formatKeys(keys), field: formatKeys(keys.slice(0, 1)), depth };
    }
    if (Array.isArray(node)) {
      const items: readonly unknown[] = node;
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, key: i, parent: frame });
      }
    } else {
      for (const [key, item] of Object.entries(node)) {
        if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, key, parent: frame });
      }
    }
  }
  return undefined;
}

/** The issue for input nested too deeply, named at its top-level field (`prefix` first), or undefined. */
export function depthIssue(value: unknown, prefix = '', maxDepth = MAX_NESTING_DEPTH): FieldIssue | undefined {
  const found = tooDeep(value, maxDepth);
  if (!found) return undefined;
  const join = (field: string) => [prefix, field].filter(Boolean).join(field.startsWith('[') ? '' : '.');
  return { path: join(found.field), message: `nests deeper than ${maxDepth} levels of objects and arrays (at ${join(found.path) || '(root)'})` };
}

/**
 * The UTF-8 size of `value` as JSON, or undefined when it is not JSON (a BigInt, a cycle). Call it
 * after `tooDeep`: JSON.stringify recurses.
 */
export function jsonBytes(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? 0 : utf8Bytes(text);
  } catch {
    return undefined;
  }
}

/**
 * Parameter names every provider takes as they are: SageMaker (at most 256 characters), Vertex's
 * parameterId (no whitespace), ML Engine's parameterName (passed as `--name=value`: no `=`, not
 * starting with `-`), and the local engine's `{{name}}` placeholders (no braces). Letters, digits,
 * `_`, `.` and `-`, starting with a letter, digit or `_`, satisfy all of them.
 */
export const PARAMETER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$/;
export const PARAMETER_NAME_MESSAGE = 'must be 1 to 256 letters, digits, "_", "." or "-", starting with a letter, digit or "_"';

/**
 * Names that are properties of every JavaScript object: as a key in a hyperparameter map they
 * change the map's prototype or shadow its constructor, and writes built from it fail.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
