#!/usr/bin/env bash
# Every check the project has: typecheck, lint and all tests. Run from a fresh clone; it installs what it needs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
log "node $(node --version), pnpm $(pnpm --version)"
out="$(mktemp)"
status=0
pnpm run check 2>&1 | tee "$out" || status=$?
# Vitest's per-package "Tests  N passed | M failed (T)" lines, summed into one closing line.
sed 's/\x1b\[[0-9;]*m//g' "$out" | awk '
  /^[^ ]*:test: +Tests +/ {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed/) passed += $i
      if ($(i+1) ~ /^failed/) failed += $i
      if ($(i+1) ~ /^skipped/) skipped += $i
    }
  }
  END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }'
rm -f "$out"
# Each app's image root (what the Dockerfile's build stage makes), started alone until ready.
log "image roots"
node scripts/image-check.ts || status=$?
# The demo walks the whole pipeline on the local stack, as the README tells a newcomer to.
log "demo on the local stack"
if ./scripts/dev.sh >/dev/null; then
  node scripts/demo.ts || status=$?
else
  status=1
fi
./scripts/dev.sh down >/dev/null || true
# Nothing the stack started may outlive it (a server left behind holds its port for the next run).
for _ in $(seq 60); do
  node scripts/local-stack.ts status | grep -q ': up' || break
  sleep 0.5
done
if node scripts/local-stack.ts status | grep ': up'; then
  echo "the local stack did not stop" >&2
  status=1
fi
exit "$status"
