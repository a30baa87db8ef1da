#!/usr/bin/env bash
# Packs Burrow, installs the tarball into an empty project as a user would
# (npm install, install scripts and all, without this checkout's overrides),
# and checks it there: the dependency tree, `npx burrow --help`, `burrow init`,
# a script that imports Burrow from the package and creates a node, a group
# and a message, and a strict TypeScript consumer type-checked against the
# package's declarations (lib checks on: they must resolve from its
# dependencies alone). The checks run with the `node` on PATH and again with
# the node of each NODE_BIN_DIR given. If systemd-analyze is present, the
# packed systemd units must verify without a warning.
#
# Usage: bash scripts/check-package.sh [NODE_BIN_DIR ...]
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d "${TMPDIR:-/tmp}/burrow-package-XXXXXX")"
trap 'rm -rf "$work"' EXIT
step() { echo "--- $*"; }
fail() { echo "check-package: $*" >&2; exit 1; }

step "npm pack (prepack builds dist/)"
npm pack --silent --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/*.tgz)"
name="$(node -p 'require("./package.json").name')"
files="$(tar tzf "$tarball")"
unexpected="$(grep -Ev '^package/(package\.json|README\.md|SECURITY\.md|bin/|dist/|tor/|docs/|examples/python/)' <<<"$files" || true)"
[ -z "$unexpected" ] || fail "unexpected files in the tarball: $unexpected"
grep -qx 'package/dist/index.d.ts' <<<"$files" || fail "the tarball has no dist/index.d.ts"
grep -qx 'package/examples/python/burrow_client.py' <<<"$files" || fail "the tarball has no Python client (docs/local-api.md links to it)"
echo "$(basename "$tarball"): $(wc -l <<<"$files") files, $(du -k "$tarball" | cut -f1) KiB"

step "npm install $(basename "$tarball") into an empty project (node $(node --version))"
app="$work/app"
mkdir "$app"
printf '{ "name": "burrow-package-check", "private": true, "type": "module" }\n' > "$app/package.json"
# JOBS=max: node-gyp compiles better-sqlite3-multiple-ciphers 12 (Node 20's binding) on all cores where no prebuilt binary can be downloaded.
(cd "$app" && JOBS=max npm install --no-audit --no-fund --loglevel=error "$tarball")
# The project's own lock must be installable again (npm ci refuses a lock that misses optional platform packages).
(cd "$app" && npm ls --all >/dev/null && npm ci --dry-run --no-audit --no-fund --loglevel=error >/dev/null) \
  || fail "the installed tree is inconsistent (npm ls / npm ci --dry-run)"

cat > "$app/library.mjs" <<EOF
import { Burrow } from '$name'
const dir = process.argv[2]
const created = await Burrow.init(dir)
const node = await Burrow.open({ dataDir: dir })
const group = await node.createGroup('check')
await node.send(group.id, 'hello')
const texts = node.messages(group.id).map((m) => m.text)
await node.stop()
if (texts.join() !== 'hello') throw new Error('read back ' + JSON.stringify(texts))
console.log('library: node ' + created.peerId + ', one MLS group, one message')
EOF

check_with() {
  local bin_dir="$1" v
  v="$(PATH="$bin_dir:$PATH" node --version)"
  step "checks on node $v"
  ( cd "$app" && export PATH="$bin_dir:$PATH"
    help="$(npx --no-install burrow --help)"
    grep -q '^Usage: burrow' <<<"$help" || fail "npx burrow --help printed no usage"
    init="$(npx --no-install burrow --data-dir "$work/cli-$v" init --no-passphrase --json)"
    node -e 'const r = JSON.parse(process.argv[1]); if (!/^12D3KooW/.test(r.peerId) || r.sealed !== false) process.exit(1)' "$init" \
      || fail "burrow init printed $init"
    echo "burrow init: $init"
    set +e; status="$(npx --no-install burrow --data-dir "$work/cli-$v" status 2>&1)"; code=$?; set -e
    [ "$code" = 3 ] || fail "burrow status without a running node exited $code: $status"
    node library.mjs "$work/lib-$v" )
}

check_with "$(dirname "$(command -v node)")"
for dir in "$@"; do check_with "$(cd "$dir" && pwd)"; done

# Last: installing @types/node may prune the tree the checks above ran in.
step "type-check a TypeScript consumer (strict, skipLibCheck off)"
types_node="$(node -p 'require("./package.json").devDependencies["@types/node"]')"
(cd "$app" && npm install --no-save --no-audit --no-fund --loglevel=error "@types/node@$types_node")
cat > "$app/tsconfig.json" <<EOF
{ "compilerOptions": { "module": "nodenext", "target": "es2022", "strict": true, "skipLibCheck": false, "noEmit": true, "types": ["node"] }, "files": ["consumer.mts"] }
EOF
cat > "$app/consumer.mts" <<EOF
import { Burrow, type BurrowOptions } from '$name'
const options: BurrowOptions = { dataDir: process.argv[2]! }
const node: Burrow = await Burrow.open(options)
node.on('group:message', (m) => console.log(m.self ? 'me' : m.authorName, m.text ?? m.file?.name))
await node.stop()
EOF
./node_modules/.bin/tsc -p "$app/tsconfig.json" || fail "a strict TypeScript consumer does not type-check against the package's declarations"
echo "consumer.mts type-checks (tsc $(./node_modules/.bin/tsc --version | cut -d' ' -f2))"

if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify (the units in the tarball, ExecStart= pointed at the installed bin)"
  units="$work/units"
  mkdir -p "$units/system" "$units/user" "$work/xdg-runtime"
  installed_bin="$app/node_modules/.bin/burrow"
  docs="$app/node_modules/$name/docs/systemd"
  sed "s|^ExecStart=/usr/local/bin/burrow |ExecStart=$installed_bin |" "$docs/system/burrow.service" > "$units/system/burrow.service"
  sed "s|^ExecStart=%h/.local/bin/burrow |ExecStart=$installed_bin |" "$docs/user/burrow.service" > "$units/user/burrow.service"
  out="$(systemd-analyze verify "$units/system/burrow.service" 2>&1)" || fail "system unit: $out"
  [ -z "$out" ] || fail "system unit: $out"
  out="$(XDG_RUNTIME_DIR="$work/xdg-runtime" systemd-analyze --user verify "$units/user/burrow.service" 2>&1)" || fail "user unit: $out"
  [ -z "$out" ] || fail "user unit: $out"
  echo "both units verify ($(systemd-analyze --version | head -1))"
else
  echo "--- systemd-analyze not installed: the systemd units were not verified"
fi
echo "check-package: ok"
