// Verifier types: a scoring function (prompt, completion, reference?) -> number | null, where null
// means "not applicable" (e.g. no reference to compare with), and the async Verifier every spec builds.

/** A score, or null when the verifier does not apply to this example. */
export type Score = number | null;

/** A pure, synchronous scoring function. */
export type ScoreFn = (prompt: string, completion: string, reference?: string) => Score;

/** What createVerifier returns: uniform async scoring, single or a group of completions per prompt. */
export interface Verifier {
  readonly name: string;
  score(prompt: string, completion: string, reference?: string): Promise<Score>;
  /** Scores the completions of one prompt (a GRPO group); one call for batching verifiers. */
  scoreGroup(prompt: string, completions: readonly string[], reference?: string): Promise<Score[]>;
}

/** Bad verifier configuration or input; services map it to INVALID_ARGUMENT. */
export class VerifierConfigError extends Error {
  override readonly name = 'VerifierConfigError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Wraps a synchronous scoring function as a Verifier. */
export function verifierFromFn(name: string, fn: ScoreFn): Verifier {
  return {
    name,
    score: async (p, c, r) => fn(p, c, r),
    scoreGroup: async (p, cs, r) => cs.map((c) => fn(p, c, r)),
  };
}
