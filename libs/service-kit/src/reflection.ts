// gRPC server reflection (grpc.reflection.v1 and v1alpha, @grpc/reflection) over the descriptor set
// that `npm run proto` writes beside the generated code, so grpcurl and Postman can list and call.
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetPath } from '@tuneloop/proto';

let cached: ReturnType<typeof loadFileDescriptorSetFromBuffer> | undefined;

/** Adds the reflection services to `server`, exposing only `services` (fully-qualified names). */
export function addReflection(server: Server, services: string[]): void {
  cached ??= loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath), { keepCase: true });
  new ReflectionService(cached, { services }).addToServer(server);
}
