/**
 * An error as a log line's `error` field: name, message, the code and retryability of a typed
 * error, and the stack. For logs only: answers to callers never carry it.
 *
 * @example log({ level: 'error', error: describeError(error) });
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code, retryable } = error as Error & { code?: unknown; retryable?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
  };
}
