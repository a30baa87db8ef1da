#!/usr/bin/env -S node --max-semi-space-size=4
// Launcher of the `burrow` command. An installed package runs the compiled CLI
// in dist/. A checkout (it has tsconfig.json, which is never packed) runs the
// TypeScript sources through tsx, so a stale build can never answer instead.
//
// --max-semi-space-size=4 (MB; Node 20's default lets it grow to 16): a node
// fills V8's young generation while it starts and connects its peers, and
// keeps it until V8 sees it idle. Measured with 100,000 operations and 10
// peers (docs/performance.md): 130 → 110–112 MB of RSS 5 s after the
// peers connected, 1–5.5 MB more once idle (old space reserved), no ingest
// cost measured. It can only be set when the process starts, so
// it is here, where `burrow` and the systemd units start it (`node
// bin/burrow.js` goes without it).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const MIN_NODE = [20, 12]
const root = new URL('../', import.meta.url)
const [major, minor] = process.versions.node.split('.').map(Number)

/** Exits with a one-line hint instead of a stack trace. */
function fail(message) {
  process.stderr.write(`burrow: ${message}\n`)
  process.exit(1)
}

/** True for "a package cannot be found" (not for a missing file of our own). */
function missingPackage(err) {
  return err?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package '([^']+)'/.test(err.message)
}

if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  fail(`Node.js ${MIN_NODE.join('.')} or newer is needed; this is ${process.versions.node}`)
}

const checkout = existsSync(new URL('tsconfig.json', root))
try {
  if (checkout) {
    const { register } = await import('tsx/esm/api')
    register()
    await import(new URL('src/cli/main.ts', root).href)
  } else {
    await import(new URL('dist/cli/main.js', root).href)
  }
} catch (err) {
  if (!missingPackage(err)) throw err
  const name = /Cannot find package '([^']+)'/.exec(err.message)[1]
  const dir = fileURLToPath(root)
  fail(
    checkout
      ? `the npm dependencies of this checkout are not installed (no ${name}): run \`npm ci\` in ${dir}`
      : `the package in ${dir} is incomplete (no ${name}): reinstall it with npm`,
  )
}
