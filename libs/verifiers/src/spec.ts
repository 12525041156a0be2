// Verifier specs and registry: createVerifier(spec) builds a Verifier from a name or a JSON object
// ({ type: 'numeric', absTol: 1e-6 }, { type: 'composite', parts: [...] }, ...); unknown types and
// unknown options are VerifierConfigErrors naming the field.
import { codeVerifier } from './code.ts';
import { composite } from './composite.ts';
import { exactMatch } from './exact-match.ts';
import { formatCheck } from './format.ts';
import { jsonSchema } from './json-schema.ts';
import { lengthPenalty } from './length-penalty.ts';
import { numericAnswer } from './numeric.ts';
import { regexMatch } from './regex.ts';
import { rewardModel, type ScoreRpc } from './reward-model.ts';
import { createSandboxRunner, type SandboxRunner } from './sandbox/index.ts';
import { VerifierConfigError, verifierFromFn, type Verifier } from './types.ts';

/** A verifier name ('exact_match'), a JSON object with `type`, or that object as JSON text. */
export type VerifierSpec = string | ({ type: string } & Record<string, unknown>);

/** I/O the verifiers need, injected by the service. */
export interface VerifierDeps {
  /** The reward-model Score RPC (required by 'reward_model'). */
  score?: ScoreRpc;
  /** Runs model-written code; default: the process sandbox, at most 2 processes at once. */
  runCode?: SandboxRunner;
}

interface Entry {
  /** Option names allowed besides `type`. */
  options: readonly string[];
  build: (opts: Record<string, unknown>, deps: VerifierDeps, field: string) => Verifier;
}

const registry = new Map<string, Entry>();

export function registerVerifier(type: string, entry: Entry): void {
  if (registry.has(type)) throw new Error(`verifier '${type}' is already registered`);
  registry.set(type, entry);
}

export function listVerifiers(): string[] {
  return [...registry.keys()].sort();
}

let defaultRunner: SandboxRunner | undefined;

export function createVerifier(spec: VerifierSpec, deps: VerifierDeps = {}): Verifier {
  return build(spec, deps, 'verifier');
}

function build(spec: VerifierSpec, deps: VerifierDeps, field: string): Verifier {
  let obj: Record<string, unknown>;
  if (typeof spec === 'string') {
    const text = spec.trim();
    if (text.startsWith('{')) {
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw new VerifierConfigError(field, `is not valid JSON: ${(err as Error).message}`);
      }
    } else {
      obj = { type: text };
    }
  } else if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
    obj = spec;
  } else {
    throw new VerifierConfigError(field, 'must be a verifier name or an object with a type');
  }
  const type = obj.type;
  const entry = typeof type === 'string' ? registry.get(type) : undefined;
  if (!entry) {
    throw new VerifierConfigError(`${field}.type`, `unknown verifier ${JSON.stringify(type)} (known: ${listVerifiers().join(', ')})`);
  }
  const { type: _type, ...opts } = obj;
  for (const key of Object.keys(opts)) {
    if (!entry.options.includes(key)) {
      throw new VerifierConfigError(`${field}.${key}`, `unknown option of '${type}' (allowed: ${entry.options.join(', ') || 'none'})`);
    }
  }
  try {
    return entry.build(opts, deps, field);
  } catch (err) {
    // Name the option inside the spec tree: verifier.parts[1].verifier.schema rather than schema.
    if (err instanceof VerifierConfigError && !err.field.startsWith(field)) {
      throw new VerifierConfigError(`${field}.${err.field}`, err.message.slice(err.field.length + 2));
    }
    throw err;
  }
}

const fn = <O>(name: string, options: readonly string[], make: (o: O) => Parameters<typeof verifierFromFn>[1]): Entry => ({
  options,
  build: (o) => verifierFromFn(name, make(o as O)),
});

registerVerifier('exact_match', fn('exact_match', ['answerTag', 'strict'], exactMatch));
registerVerifier('numeric', fn('numeric', ['absTol', 'relTol'], numericAnswer));
registerVerifier('regex', fn('regex', ['pattern', 'flags', 'fullMatch'], regexMatch));
registerVerifier('json_schema', fn('json_schema', ['schema'], jsonSchema));
registerVerifier('format', fn('format', ['tags', 'strict'], formatCheck));
registerVerifier('length_penalty', fn('length_penalty', ['maxLength', 'cacheLength', 'unit'], lengthPenalty));
registerVerifier('reward_model', {
  options: [],
  build: (_o, deps) => rewardModel({ score: deps.score as ScoreRpc }),
});
registerVerifier('code', {
  options: ['functionName', 'testTimeoutMs', 'memoryMb', 'numberTolerance'],
  build: (o, deps) => codeVerifier({ ...o, run: deps.runCode ?? (defaultRunner ??= createSandboxRunner()) }),
});
registerVerifier('composite', {
  options: ['parts'],
  build: (o, deps, field) => {
    const parts = o.parts;
    if (!Array.isArray(parts) || parts.length === 0) throw new VerifierConfigError(`${field}.parts`, 'must be a non-empty array of { verifier, weight? }');
    return composite(
      parts.map((p: { verifier?: VerifierSpec; weight?: number }, i: number) => {
        const at = `${field}.parts[${i}]`;
        if (p === null || typeof p !== 'object' || p.verifier === undefined) throw new VerifierConfigError(at, 'must be { verifier, weight? }');
        if (p.weight !== undefined && (typeof p.weight !== 'number' || !Number.isFinite(p.weight))) {
          throw new VerifierConfigError(`${at}.weight`, `must be a finite number, got ${JSON.stringify(p.weight)}`);
        }
        return { verifier: build(p.verifier, deps, `${at}.verifier`), weight: p.weight };
      }),
    );
  },
});
