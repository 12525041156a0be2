// Location of the binary FileDescriptorSet of proto/ (written by `npm run proto`), for reflection.
import { fileURLToPath } from 'node:url';

export const descriptorSetPath = fileURLToPath(new URL('./gen/descriptor-set.binpb', import.meta.url));
