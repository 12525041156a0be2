// The verifier of a GenerateGroups / Verify request: `verifier_json` (or `verifier.json`), a @tuneloop/verifiers
// spec, or the typed `verifier` oneof (exact_answer, tests_passed, json_schema, reward_model). A reward-model
// verifier scores through the reward-model service's Score RPC (TUNELOOP_REWARD_MODEL_ADDR, else this process's
// own gRPC server, as `npm start` serves both); in JSON it is {"type":"reward_model","model":"name@version"}.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { RewardModelServiceClient, VerifierSpec } from '@tuneloop/proto';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@tuneloop/service-kit';
import { createVerifier, normalizeAnswer, verifierFromFn, type ScoreRpc, type Verifier } from '@tuneloop/verifiers';

const SCORE_CALL_MS = 120_000;

/** Rethrows a library input error (code 'INVALID_ARGUMENT') as the gRPC error; others pass through. */
export function asGrpc<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'INVALID_ARGUMENT') throw new InvalidArgumentError((err as { field?: string }).field ?? 'request', (err as Error).message.replace(/^[^:]*: /, ''));
    throw err;
  }
}

/** "name", "name@version" or an absolute folder path, as the reward-model service's AdapterRef. */
function modelRef(text: string, field: string): { name: string; version: string } {
  if (text.startsWith('/')) return { name: text, version: '' };
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._-]+))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(field, `must be a reward model name[@version] or an absolute folder, got ${JSON.stringify(text)}`);
  return { name: m[1], version: m[2] ?? '' };
}

function scoreRpc(client: () => RewardModelServiceClient, ref: { name: string; version: string }, field: string): ScoreRpc {
  return (prompt, completions) =>
    new Promise((resolve, reject) => {
      const c = client();
      c.score({ rewardModel: ref, items: completions.map((completion) => ({ prompt, completion })) }, new Metadata(), { deadline: new Date(Date.now() + SCORE_CALL_MS) }, (err, res) => {
        c.close();
        if (!err) return resolve(res.scores);
        const e = err as ServiceError;
        if (e.code === status.INVALID_ARGUMENT) reject(new InvalidArgumentError(field, `reward model ${ref.name}: ${e.details}`));
        else if (e.code === status.NOT_FOUND) reject(new NotFoundError(`${field}: ${e.details}`));
        else reject(new UnavailableError(`reward-model Score: ${status[e.code] ?? e.code}: ${e.details}`));
      });
    });
}

/** The request's verifier; INVALID_ARGUMENT naming the field when it is missing or bad. */
export function verifierOf(req: { verifierJson: string; verifier?: VerifierSpec }, rewardModels: () => RewardModelServiceClient): Verifier {
  const json = req.verifierJson || req.verifier?.json || '';
  if (json) {
    const text = json.trim();
    let spec: string | Record<string, unknown> = text;
    if (text.startsWith('{')) {
      try {
        spec = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        throw new InvalidArgumentError('verifier', `is not valid JSON: ${(err as Error).message}`);
      }
    }
    if (typeof spec === 'object' && spec !== null && spec.type === 'reward_model') {
      const { model, ...rest } = spec;
      if (typeof model !== 'string' || !model) throw new InvalidArgumentError('verifier.model', 'required for reward_model: a reward model name[@version] or an absolute folder');
      return asGrpc(() => createVerifier(rest as never, { score: scoreRpc(rewardModels, modelRef(model, 'verifier.model'), 'verifier.model') }));
    }
    return asGrpc(() => createVerifier(spec as never, {}));
  }
  const kind = req.verifier?.kind;
  if (!kind) throw new InvalidArgumentError('verifier_json', 'required (a verifier spec as JSON, e.g. {"type":"numeric"}, or the verifier field)');
  switch (kind.$case) {
    case 'exactAnswer': {
      const pattern = kind.value.answerPattern;
      if (!pattern) return asGrpc(() => createVerifier({ type: 'numeric' } as never, {})); // the last number
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch (err) {
        throw new InvalidArgumentError('verifier.exact_answer.answer_pattern', `not a regular expression: ${(err as Error).message}`);
      }
      // the first group of the pattern is the answer, compared with the reference after SQuAD normalisation
      return verifierFromFn('exact_answer', (_p, completion, reference) => {
        if (reference === undefined) return null;
        const m = re.exec(completion);
        return m && normalizeAnswer(m[1] ?? m[0]) === normalizeAnswer(reference) ? 1 : 0;
      });
    }
    case 'testsPassed':
      return asGrpc(() => createVerifier({ type: 'code', ...(kind.value.timeoutMs > 0 ? { testTimeoutMs: kind.value.timeoutMs } : {}) } as never, {}));
    case 'jsonSchema': {
      let schema: unknown;
      try {
        schema = JSON.parse(kind.value.schemaJson);
      } catch (err) {
        throw new InvalidArgumentError('verifier.json_schema.schema_json', `is not valid JSON: ${(err as Error).message}`);
      }
      return asGrpc(() => createVerifier({ type: 'json_schema', schema } as never, {}));
    }
    case 'rewardModel': {
      const ref = kind.value;
      if (!ref.name) throw new InvalidArgumentError('verifier.reward_model.name', 'must name a reward model');
      return asGrpc(() => createVerifier({ type: 'reward_model' } as never, { score: scoreRpc(rewardModels, { name: ref.name, version: ref.version }, 'verifier.reward_model') }));
    }
  }
}
