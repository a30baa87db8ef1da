#!/usr/bin/env bash
# Installs what `npm run demo` (no argument) or `npm test` (argument `test`) needs when it is missing:
# Debian packages through apt-get (as root; otherwise says what to install) and the npm dependencies.
#   demo: tor (with tor-gencert, for the private network)
#   test: also obfs4proxy (the bridge test), tmux (the terminal chat test), python3 (the local API's Python example)
set -euo pipefail
cd "$(dirname "$0")/.."

have() {
  case "$1" in
    tor) command -v tor >/dev/null 2>&1 || [ -x /usr/sbin/tor ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

wanted=(tor)
if [ "${1:-}" = "test" ]; then wanted+=(obfs4proxy tmux python3); fi
missing=()
for package in "${wanted[@]}"; do have "$package" || missing+=("$package"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "burrow: installing Debian's ${missing[*]} (apt-get install -y ${missing[*]})…" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "burrow: missing Debian packages: ${missing[*]}. Install them, then run this again:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v tor-gencert >/dev/null 2>&1 && [ ! -x /usr/bin/tor-gencert ]; then
  echo "burrow: tor-gencert (part of Debian's tor package) is missing; reinstall tor." >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "burrow: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund
fi
