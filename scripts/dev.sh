#!/usr/bin/env bash
# Runs the system locally in the background; `./scripts/dev.sh down` stops it, `status` reports.
# Run from a fresh clone; it installs what it needs. Idempotent: running it twice keeps what runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
node scripts/local-stack.ts "${1:-up}"
