/**
 * Typed errors with stable codes. Branch on `instanceof` or `code`, never on message text.
 * `retryable` tells a transport (Lambda async retry, Pub/Sub redelivery) whether trying the same
 * input again can succeed.
 */
export abstract class TunewireError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface FieldIssue {
  /** Dotted path into the input, e.g. `parameters[2].min` or `detail.TrainingJobName`. */
  readonly path: string;
  readonly message: string;
}

/** Bad input at the edge: a spec, an event, a request. Never retryable; nothing was written. */
export class ValidationError extends TunewireError {
  readonly code: string = 'INPUT.INVALID';
  readonly retryable = false;

  constructor(
    readonly subject: string,
    readonly issues: readonly FieldIssue[],
    options?: { cause?: unknown },
  ) {
    super(`${subject} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`, options);
  }
}

export class SpecValidationError extends ValidationError {
  override readonly code = 'SPEC.INVALID';
}

export class EventValidationError extends ValidationError {
  override readonly code = 'EVENT.INVALID';
}

export class JobNotFoundError extends TunewireError {
  readonly code = 'JOB.NOT_FOUND';
  readonly retryable = false;
  constructor(readonly jobId: string) {
    super(`job ${jobId} was not found`);
  }
}

export class UnknownProviderError extends TunewireError {
  readonly code = 'PROVIDER.UNKNOWN';
  readonly retryable = false;
  constructor(readonly provider: string, readonly known: readonly string[]) {
    super(`provider "${provider}" is not configured here (known: ${known.join(', ')})`);
  }
}

/** The provider refused or failed a call. `retryable` is the adapter's judgement (throttling, 5xx). */
export class ProviderError extends TunewireError {
  readonly code: string;
  readonly retryable: boolean;
  constructor(provider: string, operation: string, message: string, options: { retryable: boolean; code?: string; cause?: unknown }) {
    super(`${provider} ${operation} failed: ${message}`, { cause: options.cause });
    this.code = options.code ?? 'PROVIDER.FAILED';
    this.retryable = options.retryable;
  }
}

/** Lost a race on a conditional write more times than is reasonable; the caller may retry the whole input. */
export class ConcurrencyError extends TunewireError {
  readonly code = 'LEDGER.CONTENDED';
  readonly retryable = true;
}

export function isRetryable(error: unknown): boolean {
  return error instanceof TunewireError ? error.retryable : true;
}
