import { readFileSync } from 'node:fs'
import { API_COMMANDS, printJson } from './api-commands.js'
import { AT_REST_COMMANDS } from './at-rest-commands.js'
import { CHAT_COMMANDS } from './chat.js'
import { FILE_COMMANDS } from './file-commands.js'
import { EXIT, describeError, exitCodeFor } from './errors.js'
import { FORK_COMMANDS } from './fork-commands.js'
import { GROUP_LIFE_COMMANDS } from './group-life-commands.js'
import { KEEPER_COMMANDS } from './keeper-commands.js'
import { printable, printableLine } from './format.js'
import { helpJson, helpText } from './help.js'
import type { CliIo } from './io.js'
import { NODE_COMMANDS } from './node-commands.js'
import { parseCommandLine } from './parse.js'
import { TESTNET_COMMANDS } from './testnet-command.js'

const HANDLERS = { ...NODE_COMMANDS, ...API_COMMANDS, ...FILE_COMMANDS, ...GROUP_LIFE_COMMANDS, ...KEEPER_COMMANDS, ...FORK_COMMANDS, ...AT_REST_COMMANDS, ...CHAT_COMMANDS, ...TESTNET_COMMANDS }

/** Burrow's version, from the package.json next to `src/` (or `dist/`). */
export function burrowVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : 'unknown'
}

/**
 * Runs one `burrow` command line and returns its exit code. Never throws:
 * errors print as `burrow: <message> (<CODE>)` on stderr, or as
 * `{ "error": { "code", "message" } }` on stdout with `--json`.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json')
  try {
    const inv = parseCommandLine(argv, io.env)
    if (inv.kind === 'version') {
      if (inv.json) printJson(io, { version: burrowVersion() })
      else io.stdout.write(`burrow ${burrowVersion()}\n`)
      return EXIT.OK
    }
    if (inv.kind === 'help') {
      if (inv.json) printJson(io, helpJson(inv.command))
      else io.stdout.write(helpText(inv.command))
      return EXIT.OK
    }
    const handler = HANDLERS[inv.command.path.join(' ')]
    if (handler === undefined) throw new Error(`no handler for ${inv.command.path.join(' ')}`)
    return await handler(inv, io)
  } catch (err) {
    const { code, message } = describeError(err)
    // Ctrl-C at a prompt: the user knows; nothing to report.
    if (code === 'CLI_CANCELLED') return exitCodeFor(code)
    if (json) printJson(io, { error: { code, message } })
    // Messages can carry what a peer sent (a refusal, a name): never raw to a terminal, and their later lines (tor's output) indented
    // so that none passes for a line of its own.
    else io.stderr.write(`burrow: ${printable(message).replace(/\n/g, '\n  ')} (${printableLine(code)})\n`)
    return exitCodeFor(code)
  }
}
