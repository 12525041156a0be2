// The benches' one model-store helper: upload a model folder as the next version of `name` (as `tuneloop model import`).
import { Metadata } from '@grpc/grpc-js';
import { folderEntries, responseOf, sendFolder } from '@tuneloop/model-store';
import type { ModelInfo, ModelStoreServiceClient, UploadModelRequest } from '@tuneloop/proto';

export async function importModel(c: ModelStoreServiceClient, dir: string, name: string): Promise<ModelInfo> {
  const files = await folderEntries(dir);
  const { call, done } = responseOf<{ model?: ModelInfo }, ReturnType<ModelStoreServiceClient['uploadModel']>>((cb) => c.uploadModel(new Metadata(), cb));
  await sendFolder<UploadModelRequest>(call, { part: { $case: 'header', value: { ref: { name, version: '' }, quantization: 0, files } } }, dir, files);
  return (await done).model!;
}
