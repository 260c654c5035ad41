#!/usr/bin/env bash
# Every check the project has: typecheck, lint and all tests. Run from a fresh clone; it installs what it needs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
log "node $(node --version), pnpm $(pnpm --version)"
pnpm run check
