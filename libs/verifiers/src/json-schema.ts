// JSON verifier: 1 when the completion (or its ```json fenced block) parses as JSON and validates
// against a JSON Schema (ajv 8: draft-07 by default, draft 2020-12 when its $schema says so), else 0.
// The schema is compiled at construction; an invalid schema is a VerifierConfigError naming 'schema'.
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { VerifierConfigError, type ScoreFn } from './types.ts';

export interface JsonSchemaOptions {
  /** A JSON Schema object. */
  schema: Record<string, unknown> | boolean;
}

/** The JSON text of a completion: the last ```json (or ```) fenced block when present, else the trimmed text. */
export function extractJsonText(completion: string): string {
  const fences = [...completion.matchAll(/```(?:json)?\s*\n([\s\S]*?)```/g)];
  return (fences.length > 0 ? fences[fences.length - 1][1] : completion).trim();
}

/**
 * @example
 * const score = jsonSchema({ schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } });
 * score('Give me JSON', '{"name": "Ada"}'); // 1
 * score('Give me JSON', '{"name": 3}');     // 0 (wrong type)
 * score('Give me JSON', 'name: Ada');        // 0 (not JSON)
 */
export function jsonSchema(options: JsonSchemaOptions): ScoreFn {
  const schema = options?.schema;
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw new VerifierConfigError('schema', 'must be a JSON Schema object');
  }
  let validate: ValidateFunction;
  try {
    const is2020 = typeof schema === 'object' && String(schema.$schema ?? '').includes('2020-12');
    // Unknown keywords are errors (strictSchema); 'format' is not validated (no ajv-formats).
    const opts = { strictSchema: true, strictTypes: false, strictTuples: false, validateFormats: false, logger: false } as const;
    const ajv = is2020 ? new Ajv2020(opts) : new Ajv(opts);
    validate = ajv.compile(schema);
  } catch (err) {
    throw new VerifierConfigError('schema', `is not a valid JSON Schema: ${(err as Error).message}`);
  }
  return (_prompt, completion) => {
    let value: unknown;
    try {
      value = JSON.parse(extractJsonText(completion));
    } catch {
      return 0;
    }
    return validate(value) ? 1 : 0;
  };
}
