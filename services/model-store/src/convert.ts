// Manifests <-> wire messages (ModelInfo, AdapterInfo) and QuantScheme enum <-> libs/quant scheme names.
import { DatasetFormat, QuantScheme, type AdapterInfo, type DatasetInfo, type ModelInfo } from '@tuneloop/proto';
import type { QuantScheme as Scheme } from '@tuneloop/quant';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import type { AdapterManifest, DatasetManifest, ModelManifest } from './catalog.ts';
import { FORMAT_NAMES, type DatasetFormatName } from './dataset-check.ts';

const TO_WIRE: Record<string, QuantScheme> = {
  none: QuantScheme.UNSPECIFIED,
  nf4: QuantScheme.NF4,
  int8: QuantScheme.INT8,
  int4: QuantScheme.INT4,
  int2: QuantScheme.INT2,
  fp4: QuantScheme.FP4,
};

export function schemeFromWire(s: QuantScheme, field: string): Scheme {
  const name = Object.entries(TO_WIRE).find(([k, v]) => v === s && k !== 'none')?.[0];
  if (!name) throw new InvalidArgumentError(field, `must be one of NF4, FP4, INT8, INT4, INT2, got ${QuantScheme[s] ?? s}`);
  return name as Scheme;
}

export function modelInfo(m: ModelManifest): ModelInfo {
  return {
    ref: { name: m.name, version: m.version },
    quantization: TO_WIRE[m.quantization] ?? QuantScheme.UNSPECIFIED,
    files: m.files,
    configJson: m.configJson,
    parameterCount: m.parameterCount,
    createdAt: new Date(m.createdAt),
    sizeBytes: m.files.reduce((a, f) => a + f.size, 0),
    source: m.source,
    blockSize: m.blockSize,
    doubleQuant: m.doubleQuant,
  };
}

export function adapterInfo(a: AdapterManifest): AdapterInfo {
  return {
    ref: { name: a.name, version: a.version },
    baseModel: a.baseModel,
    peftType: a.peftType,
    files: a.files,
    trainableParameters: a.trainableParameters,
    createdAt: new Date(a.createdAt),
    metrics: a.metrics,
    sizeBytes: a.files.reduce((x, f) => x + f.size, 0),
  };
}

export function datasetInfo(d: DatasetManifest): DatasetInfo {
  return {
    ref: { name: d.name, version: d.version },
    format: FORMAT_NAMES[d.format as DatasetFormatName] ?? DatasetFormat.UNSPECIFIED,
    files: d.files,
    rows: d.rows,
    createdAt: new Date(d.createdAt),
    sizeBytes: d.files.reduce((x, f) => x + f.size, 0),
    jsonlFiles: d.jsonlFiles,
    description: d.description,
  };
}

/** page_size / page_token (an offset) over a sorted list. */
export function page<T>(items: T[], pageSize: number, pageToken: string): { items: T[]; next: string } {
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > 1000) throw new InvalidArgumentError('page_size', `must be an integer 0-1000, got ${pageSize}`);
  const start = pageToken === '' ? 0 : Number(pageToken);
  if (!Number.isInteger(start) || start < 0) throw new InvalidArgumentError('page_token', `must be a token from a previous response, got ${JSON.stringify(pageToken)}`);
  const size = pageSize === 0 ? 100 : pageSize;
  const slice = items.slice(start, start + size);
  return { items: slice, next: start + size < items.length ? String(start + size) : '' };
}
