// Model folders <-> the in-memory transformer: loadModel builds a CausalLM from a Hugging Face folder,
// saveModel writes a CausalLM's HF-layout weights (with tokenizer and configs) as one.
import { CausalLM, tensorsFromRaw, type DType, type GenerationConfig, type ModelConfig, type Tokenizer } from '@tuneloop/model';
import { FilesError } from './atomic.ts';
import { loadHfFolder, type HfFolder, type WeightsLayout } from './load-hf-folder.ts';
import { saveHfFolder } from './save-hf-folder.ts';

export interface LoadedModel {
  model: CausalLM;
  config: ModelConfig;
  tokenizer: Tokenizer | null;
  generationConfig: GenerationConfig | null;
  /** What was read (stored dtypes, layout, raw JSON) so a save can keep them. */
  folder: Omit<HfFolder, 'weights'> & { dtypes: Map<string, DType> };
}

/** Load a Hugging Face folder into a CausalLM (float32 weights whatever the stored dtype). */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const folder = await loadHfFolder(dir);
  if (folder.tokenizer && folder.tokenizer.vocabSize > folder.config.vocabSize) {
    throw new FilesError(
      'invalid_file',
      `${dir}: tokenizer.json has ids up to ${folder.tokenizer.vocabSize - 1} but config.json vocab_size is ${folder.config.vocabSize}`,
    );
  }
  const weights = new Map(folder.weights);
  const head = weights.get('lm_head.weight');
  if (folder.config.tieWordEmbeddings && head) {
    // Some writers store the tied head too; accept it only if it really is the embedding.
    const embed = weights.get('model.embed_tokens.weight')!;
    if (head.dtype !== embed.dtype || !Buffer.from(head.data).equals(Buffer.from(embed.data))) {
      throw new FilesError('invalid_file', `${dir}: tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight`);
    }
    weights.delete('lm_head.weight');
  }
  const tensors = tensorsFromRaw(weights);
  let model: CausalLM;
  try {
    model = new CausalLM(folder.config, tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  const dtypes = new Map([...folder.weights].map(([n, t]) => [n, t.dtype]));
  const { weights: _w, ...rest } = folder;
  return { model, config: folder.config, tokenizer: folder.tokenizer, generationConfig: folder.generationConfig, folder: { ...rest, dtypes } };
}

export interface SaveModelOptions {
  tokenizer?: Tokenizer | null;
  generationConfig?: Partial<GenerationConfig> | null;
  /** Stored dtype per tensor or for all (default F32; pass `loaded.folder.dtypes` to keep a checkpoint's). */
  dtype?: DType | Map<string, DType>;
  maxShardBytes?: number;
  layout?: WeightsLayout;
  rawConfig?: Record<string, unknown>;
  extraFiles?: Record<string, string | Uint8Array>;
}

/** Save `model` (its base weights in HF layout) as a Hugging Face folder, atomically. */
export async function saveModel(dir: string, model: CausalLM, opts: SaveModelOptions = {}): Promise<void> {
  const weights = model.namedWeights();
  try {
    const dtype = opts.dtype instanceof Map ? (name: string) => (opts.dtype as Map<string, DType>).get(name) ?? 'F32' : (opts.dtype ?? 'F32');
    await saveHfFolder(dir, {
      config: model.config,
      weights,
      tokenizer: opts.tokenizer,
      generationConfig: opts.generationConfig,
      maxShardBytes: opts.maxShardBytes,
      layout: opts.layout,
      rawConfig: opts.rawConfig,
      dtype,
      extraFiles: opts.extraFiles,
    });
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}
