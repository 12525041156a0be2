// JSON Schema verifier: parse + validate (draft-07 and 2020-12), fenced blocks, invalid schemas.
import { describe, expect, it } from 'vitest';
import { jsonSchema } from './json-schema.ts';

const person = { type: 'object', required: ['name', 'age'], properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } }, additionalProperties: false };

describe('jsonSchema', () => {
  it('scores 1 for valid JSON matching the schema, 0 otherwise', () => {
    const s = jsonSchema({ schema: person });
    expect(s('q', '{"name": "Ada", "age": 36}')).toBe(1);
    expect(s('q', 'Sure!\n```json\n{"name": "Ada", "age": 36}\n```')).toBe(1);
    expect(s('q', '{"name": "Ada", "age": -1}')).toBe(0);
    expect(s('q', '{"name": "Ada"}')).toBe(0);
    expect(s('q', '{"name": "Ada", "age": 36, "x": 1}')).toBe(0);
    expect(s('q', 'name: Ada')).toBe(0);
  });
  it('supports draft 2020-12 via $schema', () => {
    const s = jsonSchema({ schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }], items: false } });
    expect(s('q', '[1]')).toBe(1);
    expect(s('q', '[1, 2]')).toBe(0);
  });
  it("accepts 'format' without validating it", () => {
    expect(jsonSchema({ schema: { type: 'string', format: 'email' } })('q', '"not an email"')).toBe(1);
  });
  it('an invalid schema is an error naming the schema, at construction', () => {
    expect(() => jsonSchema({ schema: { type: 'strnig' } })).toThrow('schema: is not a valid JSON Schema');
    expect(() => jsonSchema({ schema: { type: 'object', minProperties: -1 } })).toThrow('schema: is not a valid JSON Schema');
    expect(() => jsonSchema({ schema: { type: 'object', requird: ['a'] } })).toThrow('schema: is not a valid JSON Schema: strict mode: unknown keyword: "requird"');
    expect(() => jsonSchema({ schema: 'x' as unknown as boolean })).toThrow('schema: must be a JSON Schema object');
  });
});
