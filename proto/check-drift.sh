#!/usr/bin/env bash
# Fail when libs/proto/src/{gen,index.ts} is not what `npm run proto` would generate from proto/ now:
# regenerates into a temp dir, compares, and names each drifted file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
OUT="$tmp/src" bash proto/generate.sh
committed="libs/proto/src"
drifted=()
while IFS= read -r f; do
  if [ ! -f "$committed/$f" ]; then drifted+=("$committed/$f (missing)")
  elif ! cmp -s "$tmp/src/$f" "$committed/$f"; then drifted+=("$committed/$f")
  fi
done < <(cd "$tmp/src" && find . -type f | sed 's|^\./||' | sort)
while IFS= read -r f; do
  [ -f "$tmp/src/$f" ] || drifted+=("$committed/$f (no longer generated)")
done < <(cd "$committed" && find gen index.ts -type f | sort)
if [ ${#drifted[@]} -gt 0 ]; then
  echo "proto drift: generated code is out of date with proto/; run \`npm run proto\` and commit:" >&2
  printf '  %s\n' "${drifted[@]}" >&2
  exit 1
fi
echo "proto: libs/proto/src/gen and index.ts are up to date"
