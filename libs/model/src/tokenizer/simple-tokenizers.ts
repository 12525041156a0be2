// Tiny tokenizers for tiny models (character-level and byte-level), written in the Hugging Face
// `tokenizer.json` format (a BPE model with no merges) so every model folder looks like an HF one.
import { TokenizerError } from './errors.ts';
import { tokenizerFromFiles, type Tokenizer } from './tokenizer.ts';

export interface SpecialTokens {
  pad?: string | null;
  bos?: string | null;
  eos?: string | null;
  unk?: string | null;
  /** More special tokens (e.g. role markers), given ids after pad/bos/eos/unk. */
  extra?: string[];
}

export interface SimpleTokenizerOptions {
  /** Jinja chat template stored in tokenizer_config.json; null for none. */
  chatTemplate?: string | null;
}

const DEFAULT_SPECIALS: Required<Omit<SpecialTokens, 'extra'>> = { pad: '<pad>', bos: '<bos>', eos: '<eos>', unk: '<unk>' };

/** `role: content` lines; an assistant turn ends with EOS (so SFT learns to stop). */
export const SIMPLE_CHAT_TEMPLATE =
  "{% for m in messages %}{% if m.role == 'assistant' %}assistant: {{ m.content }}{{ eos_token }}" +
  '{% else %}{{ m.role }}: {{ m.content }}\n{% endif %}{% endfor %}' +
  "{% if add_generation_prompt %}assistant: {% endif %}";

function resolveSpecials(s: SpecialTokens | undefined): { named: Record<string, string>; list: string[] } {
  const merged = { ...DEFAULT_SPECIALS, ...s };
  const named: Record<string, string> = {};
  const list: string[] = [];
  for (const key of ['pad', 'bos', 'eos', 'unk'] as const) {
    const v = merged[key];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0) {
      throw new TokenizerError(`specials.${key}: must be a non-empty string or null, got ${JSON.stringify(v)}`, 'invalid_argument');
    }
    named[key] = v;
    list.push(v);
  }
  for (const [i, v] of (s?.extra ?? []).entries()) {
    if (typeof v !== 'string' || v.length === 0) {
      throw new TokenizerError(`specials.extra[${i}]: must be a non-empty string, got ${JSON.stringify(v)}`, 'invalid_argument');
    }
    list.push(v);
  }
  const seen = new Set<string>();
  for (const v of list) {
    if (seen.has(v)) throw new TokenizerError(`specials: duplicate token ${JSON.stringify(v)}`, 'invalid_argument');
    seen.add(v);
  }
  return { named, list };
}

function buildFiles(
  specials: { named: Record<string, string>; list: string[] },
  symbols: string[],
  pieces: { preTokenizer: unknown; decoder: unknown },
  opts: SimpleTokenizerOptions,
): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  specials.list.forEach((tok, id) => (vocab[tok] = id));
  for (const sym of symbols) {
    if (sym in vocab) throw new TokenizerError(`alphabet: symbol ${JSON.stringify(sym)} clashes with a special token`, 'invalid_argument');
    vocab[sym] = Object.keys(vocab).length;
  }
  const addedTokens = specials.list.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: pieces.preTokenizer,
    post_processor: null,
    decoder: pieces.decoder,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: specials.named.unk ?? null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    clean_up_tokenization_spaces: false,
    model_max_length: 1_000_000,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
  };
  for (const key of ['bos', 'eos', 'pad', 'unk']) {
    if (specials.named[key] !== undefined) tokenizerConfig[`${key}_token`] = specials.named[key];
  }
  const template = opts.chatTemplate === undefined ? SIMPLE_CHAT_TEMPLATE : opts.chatTemplate;
  if (template !== null) tokenizerConfig.chat_template = template;
  return { tokenizerJson, tokenizerConfig };
}

/**
 * A character-level tokenizer: ids 0.. are the special tokens (pad, bos, eos, unk, ...extra), then
 * one id per alphabet symbol in order. Characters outside the alphabet encode to unk (or are dropped
 * when there is no unk token).
 */
export function charTokenizer(alphabet: string | readonly string[], specials?: SpecialTokens, opts: SimpleTokenizerOptions = {}): Tokenizer {
  const symbols = typeof alphabet === 'string' ? Array.from(alphabet) : [...alphabet];
  if (symbols.length === 0) throw new TokenizerError('alphabet: must hold at least 1 symbol, got 0', 'invalid_argument');
  const seen = new Set<string>();
  symbols.forEach((sym, i) => {
    if (typeof sym !== 'string' || Array.from(sym).length !== 1) {
      throw new TokenizerError(`alphabet[${i}]: must be exactly one character, got ${JSON.stringify(sym)}`, 'invalid_argument');
    }
    if (seen.has(sym)) throw new TokenizerError(`alphabet[${i}]: duplicate character ${JSON.stringify(sym)}`, 'invalid_argument');
    seen.add(sym);
  });
  const files = buildFiles(resolveSpecials(specials), symbols, { preTokenizer: null, decoder: { type: 'Fuse' } }, opts);
  return tokenizerFromFiles(files);
}

/** GPT-2's byte -> printable unicode map used by ByteLevel pre-tokenizers and decoders. */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return map;
}

/**
 * A byte-level tokenizer: the special tokens, then 256 ids, one per UTF-8 byte (id = specials + byte).
 * Any text round-trips exactly.
 */
export function byteTokenizer(specials?: SpecialTokens, opts: SimpleTokenizerOptions = {}): Tokenizer {
  const files = buildFiles(
    resolveSpecials(specials),
    bytesToUnicode(),
    {
      preTokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    },
    opts,
  );
  return tokenizerFromFiles(files);
}
