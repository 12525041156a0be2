// The Score RPC: loads a reward-model folder (a Hugging Face trunk + score.safetensors, as `tuneloop reward
// train` writes it and reward-model jobs store it) by name under TUNELOOP_HOME/models (or an absolute path), or
// from the model store (a model version name@version, pulled into TUNELOOP_HOME/cache/models), caches it, and
// scores items through the ScoreBatcher so concurrent callers share forward passes.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { loadModel } from '@tuneloop/files';
import { parseSafetensors, REWARD_HEAD_NAME, RewardModel, tensorFromRaw, type Tokenizer } from '@tuneloop/model';
import { encodeSequence, packSequences } from '@tuneloop/objectives';
import type { ScoreRequest, ScoreResponse } from '@tuneloop/proto';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { ScoreBatcher, type BatcherStats, type ScoreBatcherLimits } from './score-batcher.ts';
import { describeModel, pullModel } from '@tuneloop/jobs';

export const HEAD_FILE = 'score.safetensors';
export const DEFAULT_SCORE_LIMITS: ScoreBatcherLimits = { maxBatchSize: 64, maxSequenceLength: 512, maxQueuedSequences: 4096, maxWaitMs: 2 };

/**
 * Score batching from the environment, validated (a RangeError naming the variable):
 * TUNELOOP_SCORE_BATCHING on|off (off: exactly one forward pass per request, no wait; for comparisons),
 * TUNELOOP_SCORE_MAX_BATCH 1-4096 (sequences per forward pass and per request, default 64),
 * TUNELOOP_SCORE_MAX_WAIT_MS 0-1000 (how long a lone request waits for company, default 2).
 */
export function scoreLimitsFromEnv(env: Record<string, string | undefined> = process.env): ScoreBatcherLimits {
  const num = (name: string, def: number, min: number, max: number, integer: boolean) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const v = Number(raw);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new RangeError(`${name}: must be ${integer ? 'an integer' : 'a number'} ${min}-${max}, got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  const batching = env.TUNELOOP_SCORE_BATCHING ?? 'on';
  if (batching !== 'on' && batching !== 'off') throw new RangeError(`TUNELOOP_SCORE_BATCHING: must be on or off, got ${JSON.stringify(batching)}`);
  const limits: ScoreBatcherLimits = {
    ...DEFAULT_SCORE_LIMITS,
    maxBatchSize: num('TUNELOOP_SCORE_MAX_BATCH', DEFAULT_SCORE_LIMITS.maxBatchSize, 1, 4096, true),
    maxWaitMs: num('TUNELOOP_SCORE_MAX_WAIT_MS', DEFAULT_SCORE_LIMITS.maxWaitMs, 0, 1000, false),
  };
  return batching === 'off' ? { ...limits, maxWaitMs: 0, maxRequestsPerBatch: 1, maxPadFraction: Infinity } : limits;
}

const live = new Set<RewardScorer>();

/** Forward passes, requests and sequences scored by every open RewardScorer of this process (tests, benchmarks). */
export function scoreStats(): BatcherStats {
  const total: BatcherStats = { batches: 0, requests: 0, sequences: 0, largestBatch: 0 };
  for (const s of live) {
    for (const b of s.batchers) {
      total.batches += b.stats.batches;
      total.requests += b.stats.requests;
      total.sequences += b.stats.sequences;
      total.largestBatch = Math.max(total.largestBatch, b.stats.largestBatch);
    }
  }
  return total;
}

export interface Loaded {
  rm: RewardModel;
  tokenizer: Tokenizer;
  batcher: ScoreBatcher;
}

/** Folder of a reward model: an absolute path, else `<home>/models/<name>[@version]`. */
export function rewardModelDir(home: string, name: string, version = ''): string {
  if (!name) throw new InvalidArgumentError('reward_model.name', 'must name a reward model folder');
  if (path.isAbsolute(name)) return name;
  if (name.includes('..') || name.includes('/')) throw new InvalidArgumentError('reward_model.name', `must be a plain name or an absolute path, got ${JSON.stringify(name)}`);
  return path.join(home, 'models', version ? `${name}@${version}` : name);
}

export class RewardScorer {
  private readonly cache = new Map<string, Promise<Loaded>>();
  /** The batchers of the loaded models (one per model). */
  readonly batchers = new Set<ScoreBatcher>();

  /** `limits` default: scoreLimitsFromEnv() (TUNELOOP_SCORE_*), validated here, so at service start. */
  private readonly pinned = new Map<string, string>();

  /** `storeTarget`: the model store's gRPC target, for reward models named by a store ref (none: folders only). */
  constructor(
    private readonly home: string,
    private readonly limits: ScoreBatcherLimits = scoreLimitsFromEnv(),
    private readonly storeTarget?: () => string,
  ) {
    live.add(this);
  }

  /** The local folder of `ref`: a folder (absolute, or TUNELOOP_HOME/models/<name>[@version]), else a model-store version pulled into the cache. */
  async dirOf(ref: { name: string; version: string } | undefined): Promise<string> {
    const name = ref?.name ?? '';
    const version = ref?.version ?? '';
    const local = rewardModelDir(this.home, name, version);
    if (path.isAbsolute(name) || !this.storeTarget || existsSync(path.join(local, HEAD_FILE))) return local;
    const key = `${name}@${version}`;
    const hit = this.pinned.get(key);
    if (hit) return hit;
    const target = this.storeTarget();
    const info = await describeModel(target, name, version);
    if (!info?.ref) throw new NotFoundError(`reward_model: ${version ? key : name}: no reward model folder at ${local} and no such model in the model store`);
    if (!info.files.some((f) => f.path === HEAD_FILE)) throw new FailedPreconditionError(`reward_model: ${info.ref.name}@${info.ref.version} in the model store has no ${HEAD_FILE} (not a reward model)`);
    const dir = await pullModel(target, info, path.join(this.home, 'cache', 'models'));
    if (version) this.pinned.set(key, dir);
    return dir;
  }

  /** The loaded reward model of `ref` (cached). */
  async model(ref: { name: string; version: string } | undefined): Promise<Loaded> {
    return this.load(await this.dirOf(ref));
  }

  private load(dir: string): Promise<Loaded> {
    let p = this.cache.get(dir);
    if (!p) {
      p = (async () => {
        await initBackend({ quiet: true });
        const head = await readFile(path.join(dir, HEAD_FILE)).catch(() => {
          throw new NotFoundError(`reward_model: no reward model at ${dir} (${HEAD_FILE} missing)`);
        });
        const loaded = await loadModel(dir);
        if (!loaded.tokenizer) throw new FailedPreconditionError(`reward_model: ${dir} has no tokenizer.json`);
        const raw = parseSafetensors(new Uint8Array(head)).tensors.get(REWARD_HEAD_NAME);
        if (!raw) throw new FailedPreconditionError(`reward_model: ${HEAD_FILE} has no '${REWARD_HEAD_NAME}' tensor`);
        const w = tensorFromRaw(raw);
        const rm = new RewardModel(loaded.model, { head: w });
        w.dispose();
        const pad = loaded.tokenizer.padTokenId ?? 0;
        const maxSequenceLength = Math.min(this.limits.maxSequenceLength, loaded.config.maxPositionEmbeddings);
        const batcher = new ScoreBatcher((seqs) => {
          const s = tf.tidy(() => rm.scores(packSequences(seqs, pad)));
          const out = Array.from(s.dataSync());
          s.dispose();
          return out;
        }, { ...this.limits, maxSequenceLength });
        this.batchers.add(batcher);
        return { rm, tokenizer: loaded.tokenizer, batcher };
      })();
      p.catch(() => this.cache.delete(dir));
      this.cache.set(dir, p);
    }
    return p;
  }

  async score(req: ScoreRequest): Promise<ScoreResponse> {
    if (!req.rewardModel?.name) rewardModelDir(this.home, '', ''); // INVALID_ARGUMENT naming the field
    if (req.items.length === 0) throw new InvalidArgumentError('items', 'must hold at least one (prompt, completion)');
    const { tokenizer, batcher } = await this.model(req.rewardModel);
    const seqs = req.items.map((it, i) => {
      try {
        return encodeSequence(tokenizer, it.prompt, it.completion, `items[${i}].completion`);
      } catch (e) {
        throw new InvalidArgumentError(`items[${i}].completion`, 'must not be empty', { cause: e });
      }
    });
    return { scores: await batcher.score(seqs) };
  }

  /** Frees every loaded model. */
  close(): void {
    live.delete(this);
    this.batchers.clear();
    for (const p of this.cache.values()) {
      p.then(
        (l) => {
          l.rm.dispose();
          l.rm.trunk.dispose();
        },
        () => undefined,
      );
    }
    this.cache.clear();
  }
}
