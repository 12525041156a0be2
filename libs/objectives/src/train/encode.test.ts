// Encoding preference data: standard pairs are <bos> prompt | response <eos>; conversational pairs render the
// prompt turns with the chat template (generation prompt on) and train on the assistant turn; an implicit
// prompt (whole conversations in chosen / rejected) is their shared leading turns.
import { arithTokenizer, type Tokenizer } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePairs, encodeSequence, encodeUnpaired } from './encode.ts';

let tok: Tokenizer;
beforeAll(() => {
  tok = arithTokenizer();
});

describe('encodePairs', () => {
  it('encodes the standard form', () => {
    const [p] = encodePairs(tok, [{ prompt: '1+2=', chosen: '3', rejected: '4 ok', margin: 1.5 }]);
    expect(p.prompt).toEqual([tok.bosTokenId, ...tok.encode('1+2=', { addSpecialTokens: false })]);
    expect(p.chosen).toEqual([...tok.encode('3', { addSpecialTokens: false }), tok.eosTokenId]);
    expect(p.rejected).toEqual([...tok.encode('4 ok', { addSpecialTokens: false }), tok.eosTokenId]);
    expect(p.margin).toBe(1.5);
  });
  it('renders conversational prompts with the chat template; explicit and implicit prompts agree', () => {
    const user = { role: 'user', content: '1+2=' };
    const explicit = encodePairs(tok, [{ prompt: [user], chosen: [{ role: 'assistant', content: '3' }], rejected: [{ role: 'assistant', content: '5' }] }])[0];
    const implicit = encodePairs(tok, [{ prompt: [], chosen: [user, { role: 'assistant', content: '3' }], rejected: [user, { role: 'assistant', content: '5' }] }])[0];
    expect(implicit).toEqual(explicit);
    expect(tok.decode(explicit.prompt)).toBe(tok.applyChatTemplate([user], { addGenerationPrompt: true }));
    expect(explicit.chosen).toEqual([...tok.encode('3', { addSpecialTokens: false }), tok.eosTokenId]);
  });
  it('encodes single sequences and KTO examples with the same checks', () => {
    expect(encodeSequence(tok, '1+2=', '3')).toEqual([tok.bosTokenId, ...tok.encode('1+2=3', { addSpecialTokens: false }), tok.eosTokenId]);
    expect(() => encodeSequence(tok, '1+2=', '', 'responses[2]')).toThrow('responses[2]: must not be empty');
    expect(() => encodeUnpaired(tok, [{ prompt: 'a', completion: 'b', label: true }])).toThrow('examples: must hold at least 2 examples');
    expect(() => encodeUnpaired(tok, [{ prompt: 'a', completion: 'b', label: true }, { prompt: 'a', completion: '', label: false }])).toThrow('examples[1].completion: must not be empty');
  });
});
