// A job's base model folder: where a name points (an absolute path, a path relative to TUNELOOP_HOME, or a name
// under TUNELOOP_HOME/models) and what it holds (config.json, tokenizer), read without the weights so a request
// can be checked before anything is queued.
import path from 'node:path';
import { readJsonFile } from '@tuneloop/files';
import { modelConfigFromHf, tokenizerFromFiles, type ModelConfig, type Tokenizer } from '@tuneloop/model';
import { InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';

/** Base model folder: an absolute path, a path relative to TUNELOOP_HOME, or a name under TUNELOOP_HOME/models. */
export function resolveBaseDir(home: string, name: string, version = ''): string {
  if (!name) throw new InvalidArgumentError('base_model.name', 'must name a model folder or a model under TUNELOOP_HOME/models');
  if (path.isAbsolute(name)) return name;
  if (name.includes('/') || name.startsWith('.')) return path.resolve(home, name);
  return path.join(home, 'models', version ? `${name}@${version}` : name);
}

export interface BaseInfo {
  hfConfig: Record<string, unknown>;
  config: ModelConfig;
  tokenizer: Tokenizer;
}

export async function readBase(dir: string): Promise<BaseInfo> {
  const hfConfig = await readJsonFile(dir, 'config.json');
  if (!hfConfig) throw new NotFoundError(`base_model: no model folder at ${dir} (config.json missing)`);
  let config: ModelConfig;
  try {
    config = modelConfigFromHf(hfConfig);
  } catch (e) {
    throw new InvalidArgumentError('base_model', `${dir}/config.json: ${(e as Error).message}`);
  }
  const tokenizerJson = await readJsonFile(dir, 'tokenizer.json');
  if (!tokenizerJson) throw new InvalidArgumentError('base_model', `${dir} has no tokenizer.json (training needs the tokenizer)`);
  const tokenizerConfig = await readJsonFile(dir, 'tokenizer_config.json');
  return { hfConfig, config, tokenizer: tokenizerFromFiles({ tokenizerJson, tokenizerConfig }) };
}
