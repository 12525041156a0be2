// The proto drift check (`npm run proto:check`): passes on the committed tree and fails, naming the
// drifted file, when a .proto changes without regeneration. Runs on a copy in a temp dir.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
let dir: string;

async function check(): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run('bash', [path.join(dir, 'proto/check-drift.sh')], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('proto drift check', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tuneloop-drift-'));
    for (const f of ['proto', 'buf.yaml', 'buf.gen.yaml', '.prettierrc.json'])
      cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
    mkdirSync(path.join(dir, 'libs/proto/src'), { recursive: true });
    cpSync(path.join(root, 'libs/proto/src/gen'), path.join(dir, 'libs/proto/src/gen'), { recursive: true });
    cpSync(path.join(root, 'libs/proto/src/index.ts'), path.join(dir, 'libs/proto/src/index.ts'));
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes when the generated code matches proto/', async () => {
    const r = await check();
    expect(r.stderr).not.toContain('proto drift');
    expect(r.code).toBe(0);
  });

  it('fails and names the drifted file when a .proto changes without regeneration', async () => {
    const file = path.join(dir, 'proto/tuneloop/v1/rounds.proto');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('string error = 8;', 'string error = 8;\n  string note = 11;'),
    );
    const r = await check();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('proto drift');
    expect(r.stderr).toContain('libs/proto/src/gen/tuneloop/v1/rounds.ts');
    expect(r.stderr).not.toContain('common.ts');
  });
});
