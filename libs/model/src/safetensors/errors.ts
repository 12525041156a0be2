// Errors of the safetensors reader/writer: one class, one stable `code` per kind of violation
// (format: https://github.com/huggingface/safetensors, "Format" section).

export type SafetensorsErrorCode =
  | 'truncated' // the file ends before the length prefix, the header or the data it describes
  | 'header_too_large' // the 8-byte header length exceeds the bound
  | 'header_invalid_json' // the header is not UTF-8 JSON or not an object
  | 'metadata_invalid' // __metadata__ is not a string -> string map
  | 'entry_invalid' // a tensor entry lacks dtype / shape / data_offsets or has bad values
  | 'unknown_dtype' // dtype is not one this reader knows
  | 'shape_mismatch' // product(shape) * dtype size != end - begin
  | 'offset_out_of_range' // a tensor's data_offsets point past the end of the data buffer
  | 'overlapping' // two tensors share bytes
  | 'incomplete_coverage' // gaps between tensors or bytes after the last one
  | 'invalid_tensor'; // writer input: bad name, dtype, shape or data length

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  /** A malformed file stays malformed: retrying cannot help. */
  readonly retryable = false;
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`safetensors ${code}: ${message}`, options);
  }
}
