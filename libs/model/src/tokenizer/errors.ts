// Errors raised by the tokenizer layer: one class, a stable `code` per failure kind.

export type TokenizerErrorCode = 'invalid_tokenizer_json' | 'invalid_token_id' | 'invalid_argument' | 'no_chat_template' | 'chat_template_failed';

export class TokenizerError extends Error {
  override name = 'TokenizerError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly code: TokenizerErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
