#!/usr/bin/env bash
# Runs the system locally in the background; `./scripts/dev.sh down` stops it, `status` reports.
# Run from a fresh clone; it installs and builds what it needs. Running it twice keeps what runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
if [ "${1:-up}" = up ]; then
  log "building the apps"
  pnpm exec turbo run build --output-logs=errors-only >/dev/null
fi
node scripts/local-stack.ts "${1:-up}"
