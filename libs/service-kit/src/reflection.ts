// gRPC server reflection (grpc.reflection.v1 and v1alpha, @grpc/reflection) over the descriptor set
// that `npm run proto` writes beside the generated code, so grpcurl, `buf curl` and Postman can list and call.
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetPath } from '@tuneloop/proto';

/**
 * Splits a serialized google.protobuf.FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into
 * the serialized FileDescriptorProto of each file, untouched. (Loading the set through proto-loader
 * merges every file of a package into one, after which clients cannot resolve most services.)
 */
export function splitFileDescriptorSet(set: Uint8Array): Uint8Array[] {
  const files: Uint8Array[] = [];
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (i >= set.length) throw new Error('descriptor set: truncated varint');
      const b = set[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (i < set.length) {
    const tag = varint();
    if (tag !== 0x0a) throw new Error(`descriptor set: unexpected field tag ${tag} at byte ${i}`);
    const len = varint();
    if (i + len > set.length) throw new Error('descriptor set: truncated file entry');
    files.push(set.subarray(i, i + len));
    i += len;
  }
  return files;
}

let cached: Uint8Array[] | undefined;

/** Adds the reflection services to `server`, exposing only `services` (fully-qualified names). */
export function addReflection(server: Server, services: string[]): void {
  cached ??= splitFileDescriptorSet(readFileSync(descriptorSetPath));
  const root = { descriptors: { fileDescriptorProtos: cached } };
  new ReflectionService(root as never, { services }).addToServer(server);
}
