// @tuneloop/verifiers: pure scoring functions (prompt, completion, reference?) -> number | null,
// a weighted composite, a spec registry, the reward-model verifier, and the sandbox for model-written code.
export { VerifierConfigError, verifierFromFn } from './types.ts';
export type { Score, ScoreFn, Verifier } from './types.ts';
export { normalizeAnswer, extractTag } from './text.ts';
export { exactMatch } from './exact-match.ts';
export type { ExactMatchOptions } from './exact-match.ts';
export { numericAnswer, extractFinalNumber } from './numeric.ts';
export type { NumericOptions } from './numeric.ts';
export { regexMatch } from './regex.ts';
export type { RegexOptions } from './regex.ts';
export { jsonSchema, extractJsonText } from './json-schema.ts';
export type { JsonSchemaOptions } from './json-schema.ts';
export { formatCheck } from './format.ts';
export type { FormatOptions } from './format.ts';
export { lengthPenalty } from './length-penalty.ts';
export type { LengthPenaltyOptions } from './length-penalty.ts';
export { composite } from './composite.ts';
export type { CompositePart } from './composite.ts';
export { rewardModel } from './reward-model.ts';
export type { ScoreRpc } from './reward-model.ts';
export { codeVerifier, extractCode, parseCodeReference, jsonEqual } from './code.ts';
export type { CodeOptions, CodeTestCase } from './code.ts';
export { createVerifier, registerVerifier, listVerifiers } from './spec.ts';
export type { VerifierSpec, VerifierDeps } from './spec.ts';
export { runInSandbox, createSandboxRunner } from './sandbox/index.ts';
export type { SandboxRequest, SandboxResult, SandboxRunner, TestOutcome } from './sandbox/index.ts';
