// Errors of the labeling app, each with the HTTP status it maps to; unknown errors become 500
// without details (logged server-side, never sent to a client).

export type ErrorCode = 'INVALID_ARGUMENT' | 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'NOT_FOUND' | 'CONFLICT' | 'RESOURCE_EXHAUSTED' | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
};

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { errors?: string[]; retryAfterS?: number },
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

/**
 * True for an AppError from any copy of this module (Next bundles the instrumentation hook and the
 * routes separately, so `instanceof` alone is not enough).
 */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError || (err instanceof Error && err.name === 'AppError' && typeof (err as AppError).status === 'number');
}

export const invalid = (message: string, errors?: string[]) => new AppError('INVALID_ARGUMENT', message, errors ? { errors } : undefined);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
