#!/usr/bin/env bash
# scripts/image-root.sh <app> <out-dir>: the files of an app's runtime image, exactly as the
# Dockerfile's build stage makes them: the workspace pruned to the app, built, and deployed with
# production dependencies only. `node <out-dir>/dist/main.js` then runs with no workspace around.
set -euo pipefail
app="${1:?usage: image-root.sh <ingest-worker|get-api|archiver> <out-dir>}"
out="${2:?usage: image-root.sh <app> <out-dir>}"
case "$app" in ingest-worker | get-api | archiver) ;; *) echo "unknown app: $app" >&2; exit 2 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$root/package.json")"
pnpm() { npx -y "pnpm@$pnpm_version" "$@"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TURBO_TELEMETRY_DISABLED=1

(cd "$root" && pnpm exec turbo prune "@gsk/$app" --docker --out-dir "$work/prune" >/dev/null)
cd "$work/prune/full"
cp "$work/prune/pnpm-lock.yaml" .
# turbo prune copies the workspace's packages and manifests, not the root files their builds use.
cp "$root/tsconfig.base.json" "$root/tsdown.app.ts" .
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
pnpm exec turbo run build --filter="@gsk/$app" --output-logs=errors-only >/dev/null
rm -rf "$out"
pnpm --filter "@gsk/$app" deploy --prod --legacy "$out" >/dev/null
echo "$out"
