#!/usr/bin/env bash
# Sourced by the other scripts: installs what a fresh Debian + Node 20 machine lacks, idempotently.
# Leaves `pnpm` defined and Node 24 (from the npm `node` package) first on PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TURBO_TELEMETRY_DISABLED=1
export NEXT_TELEMETRY_DISABLED=1
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"

log() { printf '\033[1m[gsk]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages the tests use: redis-server, and Chromium for the page tests (driven by
# playwright-core; no browser is downloaded).
ensure_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]} from Debian packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

pnpm_major() { command pnpm --version 2>/dev/null | cut -d. -f1; }

pnpm() {
  if [ "${GSK_PNPM_NATIVE:-}" = 1 ]; then command pnpm "$@"; else npx -y "pnpm@${PNPM_VERSION}" "$@"; fi
}

ensure_pnpm() {
  local major
  major="$(pnpm_major || true)"
  if [ -n "$major" ] && [ "$major" -ge 10 ]; then GSK_PNPM_NATIVE=1; else GSK_PNPM_NATIVE=0; fi
  export GSK_PNPM_NATIVE
}

ensure_deps() {
  log "installing npm packages (Node 24 comes from the 'node' devDependency)"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=append-only >/dev/null)
  export PATH="$ROOT/node_modules/.bin:$PATH"
  local v
  v="$(node --version)"
  case "$v" in
    v24.*) ;;
    *) log "expected Node 24 from node_modules/.bin, found $v"; exit 1 ;;
  esac
}

ensure_debian_packages
ensure_pnpm
ensure_deps
