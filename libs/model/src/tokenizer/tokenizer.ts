// The Tokenizer API used across tuneloop, over Hugging Face `tokenizer.json` + `tokenizer_config.json`
// (format of the HF `tokenizers` crate), executed by @huggingface/tokenizers (pure JS, offline).
import { Tokenizer as HfJsTokenizer } from '@huggingface/tokenizers';
import { renderChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.ts';
import { TokenizerError } from './errors.ts';

export { TokenizerError };

export type { ChatMessage, ChatTemplateOptions };

export interface EncodeOptions {
  /** Run the tokenizer's post-processor (e.g. Llama's BOS). Default true, as in Hugging Face. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, PAD, ...) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** Embedding rows needed: max token id + 1 (vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  /** Ids of all special tokens (added tokens marked `special`). */
  readonly specialTokenIds: readonly number[];
  readonly hasChatTemplate: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Render messages with the chat template of tokenizer_config.json (a string, not ids). */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions): string;
  /** The `tokenizer.json` content (a deep copy). */
  toJSON(): Record<string, unknown>;
  /** The `tokenizer_config.json` content (a deep copy). */
  toConfigJSON(): Record<string, unknown>;
}

/** A special token in tokenizer_config.json is a string or an AddedToken object `{ content }`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  readonly specialTokenIds: readonly number[];
  private readonly inner: HfJsTokenizer;

  constructor(
    private readonly json: Record<string, unknown>,
    private readonly config: Record<string, unknown>,
  ) {
    try {
      this.inner = new HfJsTokenizer(structuredClone(json), structuredClone(config));
    } catch (err) {
      throw new TokenizerError(`tokenizer.json: cannot build tokenizer: ${(err as Error).message}`, 'invalid_tokenizer_json', {
        cause: err,
      });
    }
    const vocab = this.inner.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (key: string): number | undefined => {
      const content = tokenContent(config[key]);
      return content === undefined ? undefined : this.inner.token_to_id(content);
    };
    this.bosTokenId = idOf('bos_token');
    this.eosTokenId = idOf('eos_token');
    this.padTokenId = idOf('pad_token');
    const model = json.model as { unk_token?: unknown } | undefined;
    this.unkTokenId = idOf('unk_token') ?? (typeof model?.unk_token === 'string' ? this.inner.token_to_id(model.unk_token) : undefined);
    const added = (json.added_tokens ?? []) as { id: number; special?: boolean }[];
    this.specialTokenIds = added.filter((t) => t.special).map((t) => t.id);
  }

  get hasChatTemplate(): boolean {
    return typeof this.config.chat_template === 'string' || Array.isArray(this.config.chat_template);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`ids[${i}]: must be an integer in [0, ${this.vocabSize}), got ${id}`, 'invalid_token_id');
      }
    }
    return this.inner.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
    return renderChatTemplate(this.config, messages, opts);
  }

  toJSON(): Record<string, unknown> {
    return structuredClone(this.json);
  }

  toConfigJSON(): Record<string, unknown> {
    return structuredClone(this.config);
  }
}

/**
 * Build a tokenizer from the parsed contents of a model folder's `tokenizer.json` and (optional)
 * `tokenizer_config.json`. Without a config, `clean_up_tokenization_spaces` defaults to false so
 * that decode(encode(text)) gives the text back.
 */
export function tokenizerFromFiles(files: { tokenizerJson: unknown; tokenizerConfig?: unknown }): Tokenizer {
  const { tokenizerJson, tokenizerConfig } = files;
  if (!tokenizerJson || typeof tokenizerJson !== 'object' || Array.isArray(tokenizerJson)) {
    throw new TokenizerError('tokenizer.json: must be a JSON object', 'invalid_tokenizer_json');
  }
  const model = (tokenizerJson as { model?: unknown }).model;
  if (!model || typeof model !== 'object' || !('vocab' in model)) {
    throw new TokenizerError('tokenizer.json: model must be an object with a vocab (BPE, WordPiece or Unigram)', 'invalid_tokenizer_json');
  }
  if (tokenizerConfig !== undefined && (!tokenizerConfig || typeof tokenizerConfig !== 'object' || Array.isArray(tokenizerConfig))) {
    throw new TokenizerError('tokenizer_config.json: must be a JSON object', 'invalid_tokenizer_json');
  }
  const config = { clean_up_tokenization_spaces: false, ...((tokenizerConfig ?? {}) as Record<string, unknown>) };
  return new HfTokenizer(tokenizerJson as Record<string, unknown>, config);
}
