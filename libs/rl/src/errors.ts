// Input errors of the RL library: one named class carrying the offending field, which services map to
// gRPC INVALID_ARGUMENT (same shape as ObjectiveInputError and VerifierConfigError).

export class RlInputError extends Error {
  override readonly name = 'RlInputError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
