// Hugging Face generation_config.json (transformers GenerationConfig) <-> a camelCase subset that
// tuneloop's generation understands; every other field survives in `raw`.

export interface GenerationConfig {
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
  /** The JSON as read (fields tuneloop does not model are written back unchanged). */
  raw: Record<string, unknown>;
}

const FIELDS: [keyof Omit<GenerationConfig, 'raw'>, string][] = [
  ['bosTokenId', 'bos_token_id'],
  ['eosTokenId', 'eos_token_id'],
  ['padTokenId', 'pad_token_id'],
  ['doSample', 'do_sample'],
  ['temperature', 'temperature'],
  ['topK', 'top_k'],
  ['topP', 'top_p'],
  ['minP', 'min_p'],
  ['repetitionPenalty', 'repetition_penalty'],
  ['maxNewTokens', 'max_new_tokens'],
];

export function generationConfigFromHf(raw: unknown): GenerationConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('generation_config.json: must be a JSON object');
  const json = raw as Record<string, unknown>;
  const out: GenerationConfig = { raw: structuredClone(json) };
  for (const [ours, theirs] of FIELDS) {
    const v = json[theirs];
    if (v === undefined || v === null) continue;
    const ok = ours === 'doSample' ? typeof v === 'boolean' : ours === 'eosTokenId' ? typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number')) : typeof v === 'number';
    if (!ok) throw new Error(`generation_config.json: ${theirs} has the wrong type, got ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[ours] = v;
  }
  return out;
}

export function generationConfigToHf(g: Partial<GenerationConfig>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(g.raw ?? {}) };
  for (const [ours, theirs] of FIELDS) {
    const v = g[ours];
    if (v !== undefined) out[theirs] = v;
  }
  return out;
}
