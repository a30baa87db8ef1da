#!/usr/bin/env bash
# Installs what `npm test` and `npm run demo` need when it is missing:
# Debian's tor and python3 (through apt-get, as root) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

have_tor() { command -v tor >/dev/null 2>&1 || [ -x /usr/sbin/tor ]; }

if ! have_tor; then
  if [ "$(id -u)" = "0" ]; then
    echo "burrow: installing Debian's tor package (apt-get install -y tor)…" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tor >/dev/null
  else
    echo "burrow: tor is not installed. Install Debian's tor package, then run this again:" >&2
    echo "    sudo apt-get install -y tor" >&2
    exit 1
  fi
fi
# The local API's Python example runs in the integration tests (standard library only).
if ! command -v python3 >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "burrow: installing Debian's python3 package (apt-get install -y python3)…" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
  else
    echo "burrow: python3 is not installed. Install it, then run this again:" >&2
    echo "    sudo apt-get install -y python3" >&2
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
