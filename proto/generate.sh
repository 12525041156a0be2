#!/usr/bin/env bash
# Generate TypeScript from proto/ with ts-proto (grpc-js services) into libs/proto/src/gen, plus the
# binary descriptor set used by server reflection, and libs/proto/src/index.ts (explicit exports).
# `OUT=<dir>` writes <dir>/gen and <dir>/index.ts instead of libs/proto/src (drift check).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
src="${OUT:-libs/proto/src}"
out="$src/gen"
buf="$root/node_modules/.bin/buf"
[ -x "$buf" ] || { echo "proto: $buf not found; run npm ci" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
"$buf" lint
"$buf" generate --template buf.gen.yaml -o "$out.buf-tmp"
mv "$out.buf-tmp/libs/proto/src/gen/"* "$out/"
rm -rf "$out.buf-tmp"
"$buf" build --exclude-source-info -o "$out/descriptor-set.binpb"
node proto/gen-index.mjs "$src"
node_modules/.bin/prettier --config "$root/.prettierrc.json" --log-level warn --write "$src/index.ts"
