// Input errors of the objectives library: one named class, carrying the offending field, that the
// services map to gRPC INVALID_ARGUMENT.

export class ObjectiveInputError extends Error {
  override readonly name = 'ObjectiveInputError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
