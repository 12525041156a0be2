// Tokenizer tests: tiny HF tokenizer.json fixtures built here (char, byte-level, GPT-2-style BPE with
// merges, Llama/SentencePiece-style BPE with byte fallback) and chat templates.
import { describe, expect, it } from 'vitest';
import { bytesToUnicode, byteTokenizer, charTokenizer } from './simple-tokenizers.ts';
import { tokenizerFromFiles, TokenizerError } from './tokenizer.ts';

const reload = (t: ReturnType<typeof charTokenizer>) =>
  tokenizerFromFiles({ tokenizerJson: JSON.parse(JSON.stringify(t.toJSON())), tokenizerConfig: JSON.parse(JSON.stringify(t.toConfigJSON())) });

describe('charTokenizer', () => {
  const tok = charTokenizer('0123456789+= \n.abc');
  it('puts specials first, then the alphabet in order', () => {
    expect([tok.padTokenId, tok.bosTokenId, tok.eosTokenId, tok.unkTokenId]).toEqual([0, 1, 2, 3]);
    expect(tok.vocabSize).toBe(4 + 18);
    expect(tok.encode('12+3=15')).toEqual([5, 6, 14, 7, 15, 5, 9]);
    expect(tok.specialTokenIds).toEqual([0, 1, 2, 3]);
  });
  it('round-trips text, special tokens and the tokenizer.json file', () => {
    const text = '12 + 3 = 15.\nab c . ';
    const ids = tok.encode(text);
    expect(ids.length).toBe(text.length);
    expect(tok.decode(ids)).toBe(text);
    const again = reload(tok);
    expect(again.encode(text)).toEqual(ids);
    expect(again.decode(ids)).toBe(text);
    expect(again.eosTokenId).toBe(2);
    const withSpecials = tok.encode('<bos>ab<eos>');
    expect(withSpecials).toEqual([1, 19, 20, 2]);
    expect(tok.decode(withSpecials, { skipSpecialTokens: true })).toBe('ab');
  });
  it('maps characters outside the alphabet to unk', () => {
    expect(tok.encode('az')).toEqual([19, 3]);
  });
  it('rejects bad alphabets and ids with the field named', () => {
    expect(() => charTokenizer('aba')).toThrow(/alphabet\[2\]: duplicate character "a"/);
    expect(() => charTokenizer(['ab'])).toThrow(/alphabet\[0\]: must be exactly one character/);
    expect(() => charTokenizer('')).toThrow(/alphabet: must hold at least 1 symbol/);
    expect(() => tok.decode([0, 99])).toThrow(/ids\[1\]: must be an integer in \[0, 22\), got 99/);
  });
  it('renders its chat template with EOS after assistant turns', () => {
    const s = tok.applyChatTemplate(
      [
        { role: 'user', content: '1+1' },
        { role: 'assistant', content: '2' },
        { role: 'user', content: '2+2' },
      ],
      { addGenerationPrompt: true },
    );
    expect(s).toBe('user: 1+1\nassistant: 2<eos>user: 2+2\nassistant: ');
  });
});

describe('byteTokenizer', () => {
  it('round-trips any UTF-8 text, one id per byte', () => {
    const tok = byteTokenizer();
    const text = 'héllo wörld 🙂\n\ttabs  ';
    const ids = tok.encode(text);
    expect(ids).toEqual([...new TextEncoder().encode(text)].map((b) => b + 4));
    expect(tok.decode(ids)).toBe(text);
    expect(tok.vocabSize).toBe(260);
    expect(reload(tok).encode(text)).toEqual(ids);
  });
});

describe('tokenizerFromFiles on HF fixtures', () => {
  it('GPT-2-style byte-level BPE applies merges in rank order', () => {
    const b2u = bytesToUnicode();
    const base = [...new Set([...'helo wrd'].map((c) => b2u[c.charCodeAt(0)]))];
    const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or'];
    const vocab: Record<string, number> = { '<|endoftext|>': 0 };
    for (const t of [...base, ...merges.map((m) => m.replace(' ', ''))]) vocab[t] = Object.keys(vocab).length;
    const tokenizerJson = {
      version: '1.0',
      added_tokens: [{ id: 0, content: '<|endoftext|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', vocab, merges, unk_token: null, dropout: null, fuse_unk: false, byte_fallback: false },
    };
    const tok = tokenizerFromFiles({ tokenizerJson, tokenizerConfig: { eos_token: '<|endoftext|>' } });
    const ids = tok.encode('hello world');
    expect(ids.map((i) => tok.idToToken(i))).toEqual(['hello', 'Ġwor', 'l', 'd']);
    expect(tok.decode(ids)).toBe('hello world');
    expect(tok.eosTokenId).toBe(0);
    expect(tok.bosTokenId).toBeUndefined();
  });

  it('Llama 3 / Qwen2-style: regex Split pre-tokenizer (digits in groups of 3) + ByteLevel, BOS template', () => {
    const b2u = bytesToUnicode();
    const merges = ['1 2', '12 3', 'Ġ h', 'Ġh i', "' m"];
    const vocab: Record<string, number> = {};
    for (const c of b2u) vocab[c] = Object.keys(vocab).length;
    for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
    const bot = Object.keys(vocab).length;
    const special = { id: bot, content: '<|begin_of_text|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false };
    const pattern =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const tokenizerJson = {
      version: '1.0',
      added_tokens: [special],
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [bot], tokens: ['<|begin_of_text|>'] } },
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', vocab, merges, unk_token: null, dropout: null, fuse_unk: false, byte_fallback: false, ignore_merges: true },
    };
    const tok = tokenizerFromFiles({ tokenizerJson, tokenizerConfig: { bos_token: '<|begin_of_text|>' } });
    const ids = tok.encode("I'm 12345 hi");
    expect(ids.map((i) => tok.idToToken(i))).toEqual(['<|begin_of_text|>', 'I', "'m", 'Ġ', '123', '4', '5', 'Ġhi']);
    expect(tok.bosTokenId).toBe(bot);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe("I'm 12345 hi");
  });

  it('Llama/SentencePiece-style BPE: metaspace, byte fallback, BOS post-processor', () => {
    const pieces = ['<unk>', '<s>', '</s>', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>', '▁', 'h', 'i', 'a', '▁h', '▁hi', 'ha'];
    const vocab = Object.fromEntries(pieces.map((p, i) => [p, i]));
    const special = (id: number, content: string) => ({ id, content, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false });
    const tokenizerJson = {
      version: '1.0',
      added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
      normalizer: {
        type: 'Sequence',
        normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
      },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: { type: 'BPE', vocab, merges: ['▁ h', '▁h i', 'h a'], unk_token: '<unk>', fuse_unk: true, byte_fallback: true, dropout: null },
    };
    const tokenizerConfig = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true };
    const tok = tokenizerFromFiles({ tokenizerJson, tokenizerConfig });
    const ids = tok.encode('hi ha 🙂');
    expect(ids.map((i) => tok.idToToken(i))).toEqual(['<s>', '▁hi', '▁h', 'a', '▁', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
    expect(tok.encode('hi', { addSpecialTokens: false })).toEqual([12]);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('hi ha 🙂');
    expect([tok.bosTokenId, tok.eosTokenId, tok.unkTokenId, tok.padTokenId]).toEqual([1, 2, 0, undefined]);
  });

  it('rejects a malformed tokenizer.json with a named error', () => {
    expect(() => tokenizerFromFiles({ tokenizerJson: [] })).toThrow(TokenizerError);
    expect(() => tokenizerFromFiles({ tokenizerJson: { model: {} } })).toThrow(/model must be an object with a vocab/);
  });
});

describe('chat templates', () => {
  const base = charTokenizer('abc');
  const withTemplate = (chat_template: unknown) =>
    tokenizerFromFiles({ tokenizerJson: base.toJSON(), tokenizerConfig: { ...base.toConfigJSON(), chat_template } });

  it('renders a ChatML template like transformers does', () => {
    const chatml =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const s = withTemplate(chatml).applyChatTemplate([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], {
      addGenerationPrompt: true,
    });
    expect(s).toBe('<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('passes bos_token and picks a named template from a list', () => {
    const t = withTemplate([
      { name: 'default', template: '{{ bos_token }}{{ messages[0].content }}' },
      { name: 'tool_use', template: 'T' },
    ]);
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('<bos>x');
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }], { templateName: 'tool_use' })).toBe('T');
  });

  it('gives distinct errors for a missing template and a template that raises', () => {
    const none = charTokenizer('abc', undefined, { chatTemplate: null });
    expect(none.hasChatTemplate).toBe(false);
    expect(() => none.applyChatTemplate([])).toThrow(expect.objectContaining({ code: 'no_chat_template' }));
    const raising = withTemplate("{{ raise_exception('roles must alternate') }}");
    expect(() => raising.applyChatTemplate([])).toThrow(expect.objectContaining({ code: 'chat_template_failed' }));
    expect(() => raising.applyChatTemplate([{ role: 'user' } as never])).toThrow(/messages\[0\]: must be/);
  });
});
