// Object-store blobs: chunked streaming put/get, digest, replace, delete against the real NATS server.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from './connect.ts';
import { blobInfo, deleteBlob, getBlob, getBlobBytes, listBlobs, putBlob } from './objects.ts';
import { deprovision, provision } from './provision.ts';
import { testBus, testPrefix } from './test-util.ts';

describe('blobs', () => {
  const prefix = testPrefix();
  let bus: Bus;
  beforeAll(async () => {
    bus = await testBus(prefix);
    await provision(bus, { storage: 'memory' });
  });
  afterAll(async () => {
    await deprovision(bus);
    await bus.close();
  });

  it('streams a 1 MiB blob in from an async iterable and back out in chunks, digest intact', async () => {
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    async function* parts() {
      for (let off = 0; off < data.length; off += 100_000) yield data.subarray(off, off + 100_000);
    }
    const info = await putBlob(bus, 'models/m1/model.safetensors', parts(), { chunkSize: 64 * 1024 });
    expect(info.size).toBe(data.length);
    expect(info.chunks).toBe(16);
    expect(info.digest).toBe(`SHA-256=${createHash('sha256').update(data).digest('base64url')}=`); // padded base64url, as the NATS object store writes it
    const got = await getBlob(bus, 'models/m1/model.safetensors');
    let n = 0;
    const bufs: Uint8Array[] = [];
    for await (const c of got!.chunks) {
      n++;
      bufs.push(c);
    }
    expect(n).toBeGreaterThanOrEqual(16);
    expect(Buffer.compare(Buffer.concat(bufs), Buffer.from(data))).toBe(0);
  });

  it('replaces, lists, deletes; a missing blob is null', async () => {
    await putBlob(bus, 'a.txt', new TextEncoder().encode('one'));
    await putBlob(bus, 'a.txt', new TextEncoder().encode('two!'));
    expect(new TextDecoder().decode((await getBlobBytes(bus, 'a.txt'))!)).toBe('two!');
    expect((await blobInfo(bus, 'a.txt'))!.size).toBe(4);
    expect((await listBlobs(bus)).map((b) => b.name).sort()).toEqual(['a.txt', 'models/m1/model.safetensors']);
    expect(await deleteBlob(bus, 'a.txt')).toBe(true);
    expect(await getBlob(bus, 'a.txt')).toBeNull();
    expect(await blobInfo(bus, 'a.txt')).toBeNull();
    expect(await deleteBlob(bus, 'never')).toBe(false);
    await expect(putBlob(bus, 'has space', new Uint8Array(1))).rejects.toThrow(/name: must be/);
  });
});
