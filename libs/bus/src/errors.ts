// Error classes of the work queue: RetryableError (nak with delay) and the retryable test used on any error.

/** Throw from a job handler when a later attempt can succeed (dependency down, lock busy): the job is nak'ed with a delay. */
export class RetryableError extends Error {
  override readonly name: string = 'RetryableError';
  readonly code: string = 'UNAVAILABLE';
  readonly retryable = true;
  /** overrides the queue's backoff for this nak */
  readonly delayMs?: number;
  constructor(message: string, opts: { cause?: unknown; delayMs?: number } = {}) {
    super(message, { cause: opts.cause });
    if (opts.delayMs !== undefined) this.delayMs = opts.delayMs;
  }
}

/** True for RetryableError and for any error carrying `retryable === true` (e.g. service-kit errors). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** A JSON-safe summary of an error for dead letters and logs (no stack). */
export function errorSummary(err: unknown): { name: string; message: string; code?: string; retryable: boolean } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
      retryable: isRetryable(err),
    };
  }
  return { name: 'Error', message: String(err), retryable: false };
}
