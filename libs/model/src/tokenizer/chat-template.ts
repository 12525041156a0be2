// Chat templates: the Jinja `chat_template` of a Hugging Face tokenizer_config.json, rendered with
// @huggingface/jinja using the same variables as transformers' `apply_chat_template`.
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the header that starts an assistant turn. Default false. */
  addGenerationPrompt?: boolean;
  /** Which template when tokenizer_config.json holds a list of named templates. Default 'default'. */
  templateName?: string;
  /** Extra variables for the template (e.g. `tools`, `enable_thinking`). */
  extra?: Record<string, unknown>;
}

function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

function pickTemplate(config: Record<string, unknown>, name: string): string {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const hit = t.find((e: { name?: unknown }) => e?.name === name);
    if (hit && typeof hit.template === 'string') return hit.template;
    const names = t.map((e: { name?: unknown }) => String(e?.name)).join(', ');
    throw new TokenizerError(`chat_template: no template named '${name}' (have: ${names})`, 'no_chat_template');
  }
  throw new TokenizerError('tokenizer_config.json: has no chat_template', 'no_chat_template');
}

const cache = new Map<string, Template>();

/** Render `messages` with the template of `config` (the parsed tokenizer_config.json). */
export function renderChatTemplate(
  config: Record<string, unknown>,
  messages: readonly ChatMessage[],
  opts: ChatTemplateOptions = {},
): string {
  const source = pickTemplate(config, opts.templateName ?? 'default');
  messages.forEach((m, i) => {
    if (!m || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new TokenizerError(`messages[${i}]: must be { role: string, content: string }`, 'invalid_argument');
    }
  });
  try {
    let template = cache.get(source);
    if (!template) {
      template = new Template(source);
      if (cache.size > 16) cache.clear();
      cache.set(source, template);
    }
    return template.render({
    ...opts.extra,
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: tokenString(config.bos_token) ?? '',
    eos_token: tokenString(config.eos_token) ?? '',
    pad_token: tokenString(config.pad_token) ?? '',
    unk_token: tokenString(config.unk_token) ?? '',
    });
  } catch (err) {
    throw new TokenizerError(`chat_template: ${(err as Error).message}`, 'chat_template_failed', { cause: err });
  }
}
