// @tuneloop/datasets: JSONL dataset formats and the seeded synthetic tasks.
export { ARITH_ALPHABET, arithCorpus, takeArith, heldOutAdditions, isHeldOut } from './arith.ts';
export type { ArithExample, ArithCorpusOptions } from './arith.ts';
export { parseSftJsonl } from './jsonl/sft-jsonl.ts';
export { DatasetError, describeJson, forEachJsonLine } from './jsonl/json-lines.ts';
export type { SftExample, ChatTurn, ParseSftOptions } from './jsonl/sft-jsonl.ts';
export { RESPONSE_KINDS, RAMBLES, DEFAULT_PAIR_MIX, parseAddition, groundTruthScore, candidateResponse, preferenceTask, isStylePair, heuristicAccuracy } from './preference/task.ts';
export type { ResponseKind, PairType, Heuristic, GroundTruthPair, PreferenceTaskOptions } from './preference/task.ts';
export { simulatedAnnotator } from './preference/annotator.ts';
export type { PreferencePair, AnnotatorOptions, SimulatedAnnotator } from './preference/annotator.ts';
export { unpairPreferences } from './preference/kto.ts';
export type { KtoExample } from './preference/kto.ts';
export { parsePreferenceJsonl, parseKtoJsonl, writePreferenceJsonl, writeKtoJsonl, isEmptyContent } from './preference/preference-jsonl.ts';
export type { Content, PreferenceRecord, KtoRecord } from './preference/preference-jsonl.ts';
