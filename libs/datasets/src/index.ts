// @tuneloop/datasets: JSONL dataset formats and the seeded synthetic tasks.
export { ARITH_ALPHABET, arithCorpus, takeArith, heldOutAdditions, isHeldOut } from './arith.ts';
export type { ArithExample, ArithCorpusOptions } from './arith.ts';
export { parseSftJsonl, DatasetError } from './jsonl/sft-jsonl.ts';
export type { SftExample, ChatTurn, ParseSftOptions } from './jsonl/sft-jsonl.ts';
