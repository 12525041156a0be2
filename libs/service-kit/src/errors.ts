// Error taxonomy: named error classes carrying a gRPC status, and `toGrpcStatus`, the one mapper to
// the wire (unknown errors become INTERNAL, logged with context, never a stack trace to the client).
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';

export interface TuneloopErrorOptions {
  cause?: unknown;
  /** whether the same request may succeed later */
  retryable?: boolean;
}

/** Base class: a message safe to show the client, a gRPC code and whether a retry can help. */
export class TuneloopError extends Error {
  override name = 'TuneloopError';
  readonly code: status;
  readonly retryable: boolean;
  constructor(code: status, message: string, opts: TuneloopErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

/** Bad input; the message starts with the field: `rank: must be an integer >= 1, got 0`. */
export class InvalidArgumentError extends TuneloopError {
  override name = 'InvalidArgumentError';
  constructor(
    readonly field: string,
    problem: string,
    opts?: TuneloopErrorOptions,
  ) {
    super(status.INVALID_ARGUMENT, `${field}: ${problem}`, opts);
  }
}

export class NotFoundError extends TuneloopError {
  override name = 'NotFoundError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.NOT_FOUND, message, opts);
  }
}

export class AlreadyExistsError extends TuneloopError {
  override name = 'AlreadyExistsError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.ALREADY_EXISTS, message, opts);
  }
}

export class FailedPreconditionError extends TuneloopError {
  override name = 'FailedPreconditionError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.FAILED_PRECONDITION, message, opts);
  }
}

/** A limit was hit (size, quota, memory). */
export class ResourceExhaustedError extends TuneloopError {
  override name = 'ResourceExhaustedError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.RESOURCE_EXHAUSTED, message, opts);
  }
}

/** Checksum mismatch or corrupt data. */
export class DataLossError extends TuneloopError {
  override name = 'DataLossError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.DATA_LOSS, message, opts);
  }
}

/** A dependency is down; retrying later can help. */
export class UnavailableError extends TuneloopError {
  override name = 'UnavailableError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.UNAVAILABLE, message, { retryable: true, ...opts });
  }
}

export class DeadlineExceededError extends TuneloopError {
  override name = 'DeadlineExceededError';
  constructor(message = 'deadline exceeded', opts?: TuneloopErrorOptions) {
    super(status.DEADLINE_EXCEEDED, message, { retryable: true, ...opts });
  }
}

/** The method exists in the contract but is built by a later issue. */
export class UnimplementedError extends TuneloopError {
  override name = 'UnimplementedError';
  constructor(message: string, opts?: TuneloopErrorOptions) {
    super(status.UNIMPLEMENTED, message, opts);
  }
}

/** A known internal failure; the client sees only the message given here. */
export class InternalError extends TuneloopError {
  override name = 'InternalError';
  constructor(message = 'internal error', opts?: TuneloopErrorOptions) {
    super(status.INTERNAL, message, opts);
  }
}

function isGrpcServiceError(err: unknown): err is { code: status; details: string; metadata?: Metadata } {
  const e = err as { code?: unknown; details?: unknown };
  return typeof e?.code === 'number' && e.code > 0 && e.code <= 16 && typeof e.details === 'string';
}

/**
 * Maps any thrown value to the status sent to the client. TuneloopErrors keep their code and
 * message (+ `retryable`, `field` trailers); a gRPC error from a downstream call keeps its code;
 * anything else is INTERNAL with a generic message, logged here with its stack and `context`.
 */
export function toGrpcStatus(
  err: unknown,
  logger?: Logger,
  context: Record<string, unknown> = {},
): StatusObject {
  const metadata = new Metadata();
  if (err instanceof TuneloopError) {
    if (err.retryable) metadata.set('retryable', 'true');
    if (err instanceof InvalidArgumentError) metadata.set('field', err.field);
    if (err.code === status.INTERNAL) logger?.error({ ...context, err }, 'internal error');
    return { code: err.code, details: err.message, metadata };
  }
  if (isGrpcServiceError(err)) {
    if (err.code === status.UNAVAILABLE) metadata.set('retryable', 'true');
    return { code: err.code, details: err.details, metadata };
  }
  logger?.error({ ...context, err }, 'unexpected error');
  const requestId = typeof context.requestId === 'string' ? ` (request id ${context.requestId})` : '';
  return { code: status.INTERNAL, details: `internal error${requestId}`, metadata };
}
