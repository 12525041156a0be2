// `tuneloop model ls [NAME]`: the models (and with --adapters, the adapters) in the model store, newest
// version first per name. Also the shared gRPC helpers of the model-store commands.
import type { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import type { ListAdaptersResponse, ListModelsResponse, ModelInfo } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { formatBytes, formatCount } from './model-inspect.ts';

/** Runs a unary call; a gRPC error becomes a CliError "CODE: details". */
export async function call<Res>(start: (cb: (err: ServiceError | null, res?: Res) => void) => unknown): Promise<Res> {
  try {
    return await new Promise<Res>((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res as Res))));
  } catch (err) {
    throw await asCliError(err);
  }
}

/** A gRPC ServiceError as a one-line CliError (UNAVAILABLE hints at the server address). */
export async function asCliError(err: unknown): Promise<unknown> {
  const e = err as { code?: number; details?: string };
  if (typeof e?.code !== 'number' || typeof e.details !== 'string') return err;
  const { status } = await import('@grpc/grpc-js');
  const hint = e.code === status.UNAVAILABLE ? ' (is the model store running? TUNELOOP_GRPC_ADDR)' : '';
  return new CliError(`${status[e.code]}: ${e.details}${hint}`);
}

export const SCHEMES = ['none', 'nf4', 'int8', 'int4', 'int2'];

export function modelRow(m: ModelInfo): (string | number)[] {
  return [
    `${m.ref?.name}@${m.ref?.version}`,
    SCHEMES[m.quantization] ?? String(m.quantization),
    formatCount(m.parameterCount),
    formatBytes(m.sizeBytes),
    m.source ? `${m.source.name}@${m.source.version}` : '',
    m.createdAt ? new Date(m.createdAt).toISOString().replace(/\.\d+Z$/, 'Z') : '',
  ];
}

export function registerLs(model: Command): void {
  model
    .command('ls')
    .description('List the models in the model store (TUNELOOP_GRPC_ADDR)')
    .argument('[name]', 'only versions of this model')
    .option('--adapters', 'list adapters instead (of base model NAME when given)')
    .option('--json', 'print { models } or { adapters } as JSON')
    .action(async (name: string | undefined, opts: { adapters?: boolean; json?: boolean }) => {
      const { connectStore } = await import('@tuneloop/model-store');
      const client = await connectStore();
      try {
        if (opts.adapters) {
          const res = await call<ListAdaptersResponse>((cb) => client.listAdapters({ pageSize: 1000, pageToken: '', baseModelName: name ?? '' }, cb));
          emit(!!opts.json, { adapters: res.adapters }, (v) =>
            v.adapters.length === 0
              ? 'no adapters'
              : table(
                  ['ADAPTER', 'PEFT', 'BASE MODEL', 'TRAINABLE', 'SIZE'],
                  v.adapters.map((a) => [`${a.ref?.name}@${a.ref?.version}`, a.peftType, `${a.baseModel?.name}@${a.baseModel?.version}`, formatCount(a.trainableParameters), formatBytes(a.sizeBytes)]),
                ),
          );
          return;
        }
        const res = await call<ListModelsResponse>((cb) => client.listModels({ pageSize: 1000, pageToken: '', name: name ?? '' }, cb));
        emit(!!opts.json, { models: res.models.map((m) => ({ ...m, configJson: undefined })) }, () =>
          res.models.length === 0 ? 'no models' : table(['MODEL', 'QUANT', 'PARAMS', 'SIZE', 'FROM', 'CREATED'], res.models.map(modelRow)),
        );
      } finally {
        client.close();
      }
    });
}
