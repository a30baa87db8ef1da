import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { defaultDataDir } from '../node/paths.js'
import { CliError } from './errors.js'
import { COMMANDS, allOptions, everyOption, type CommandSpec } from './spec.js'

/** Flags every command understands, resolved. */
export interface GlobalOptions {
  dataDir: string
  config?: string
  torPath?: string
  testnet?: string
  json: boolean
}

/** What the command line asks for. */
export type Invocation =
  | { kind: 'run'; command: CommandSpec; globals: GlobalOptions; options: Record<string, string | boolean | string[] | undefined>; args: string[] }
  | { kind: 'help'; command: CommandSpec | undefined; json: boolean }
  | { kind: 'version'; json: boolean }

/** The words of the command line that are not flags or flag values, up to `--`. */
function positionalWords(argv: string[]): string[] {
  const options = everyOption()
  const takesValue = new Set(options.filter((o) => o.type === 'string').flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]))
  const words: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') break
    if (arg.startsWith('-') && arg !== '-') {
      if (!arg.includes('=') && takesValue.has(arg)) i++
      continue
    }
    words.push(arg)
  }
  return words
}

/** Finds the command named by the leading words; `depth` is how many words it used. */
function findCommand(words: string[]): { command: CommandSpec | undefined; depth: number } {
  let list = COMMANDS
  let found: CommandSpec | undefined
  let depth = 0
  for (const word of words) {
    const next = list.find((c) => c.path[c.path.length - 1] === word)
    if (next === undefined) break
    found = next
    depth++
    if (next.subcommands === undefined) break
    list = next.subcommands
  }
  return { command: found, depth }
}

function subcommandNames(spec: CommandSpec): string {
  return (spec.subcommands ?? []).map((s) => s.path[s.path.length - 1]).join(', ')
}

/**
 * Reads `argv` (without `node` and the script). Throws {@link CliError} `CLI_USAGE`
 * for anything that does not name a command with valid flags and arguments.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Invocation {
  const words = positionalWords(argv)
  const json = argv.includes('--json')
  if (words[0] === 'help') {
    const { command, depth } = findCommand(words.slice(1))
    if (depth !== words.length - 1) throw new CliError('CLI_USAGE', `unknown command: ${words.slice(1).join(' ')}`)
    return { kind: 'help', command, json }
  }
  const found = findCommand(words)
  const { depth } = found
  let command = found.command
  // `burrow forks` alone runs its default subcommand; `burrow forks --help` still shows the group.
  const wantsHelp = argv.includes('--help') || argv.includes('-h')
  if (command?.defaultSubcommand !== undefined && words[depth] === undefined && !wantsHelp) {
    command = command.subcommands?.find((c) => c.path[c.path.length - 1] === command!.defaultSubcommand) ?? command
  }
  if (command === undefined) {
    if (words.length > 0) throw new CliError('CLI_USAGE', `unknown command: ${words[0]}; see \`burrow --help\``)
    if (argv.includes('--version')) return { kind: 'version', json }
    if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', command: undefined, json }
    throw new CliError('CLI_USAGE', 'missing command; see `burrow --help`')
  }
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(allOptions(command).map((o) => [o.name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple === true ? { multiple: true } : {}) }])),
    })
  } catch (err) {
    throw new CliError('CLI_USAGE', `${parseArgsProblem(err as Error & { code?: string })}; see \`burrow ${command.path.join(' ')} --help\``)
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>
  if (values.help === true) return { kind: 'help', command, json }
  if (values.version === true) return { kind: 'version', json }
  if (command.subcommands !== undefined) {
    const next = words[depth]
    throw new CliError(
      'CLI_USAGE',
      next === undefined
        ? `\`burrow ${command.path.join(' ')}\` needs a subcommand: ${subcommandNames(command)}`
        : `unknown subcommand: ${command.path.join(' ')} ${next}; known: ${subcommandNames(command)}`,
    )
  }
  // The command words are the first positionals, in order.
  const args = parsed.positionals.slice(depth)
  const required = command.args.filter((a) => a.required).length
  if (args.length < required) {
    const missing = command.args.slice(args.length).filter((a) => a.required).map((a) => `<${a.name}>`)
    throw new CliError('CLI_USAGE', `missing ${missing.join(' ')}; see \`burrow ${command.path.join(' ')} --help\``)
  }
  if (args.length > command.args.length && command.args.at(-1)?.repeatable !== true) throw new CliError('CLI_USAGE', `unexpected argument: ${args[command.args.length]}; see \`burrow ${command.path.join(' ')} --help\``)
  return { kind: 'run', command, globals: globalsOf(values, env), options: values, args }
}

/** Node's parseArgs error in our words: its unknown-option text is long and quotes unevenly. */
function parseArgsProblem(err: Error & { code?: string }): string {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '([^']*)'/.exec(err.message) : null
  if (unknown !== null) return `unknown option ${unknown[1]}`
  return err.message.split('\n')[0]!
}

function nonEmpty(values: Record<string, string | boolean | string[] | undefined>, name: string): string | undefined {
  const v = values[name]
  if (typeof v !== 'string') return undefined
  if (v.length === 0) throw new CliError('CLI_USAGE', `--${name} needs a value`)
  return v
}

function globalsOf(values: Record<string, string | boolean | string[] | undefined>, env: NodeJS.ProcessEnv): GlobalOptions {
  const dataDir = nonEmpty(values, 'data-dir')
  const config = nonEmpty(values, 'config')
  const torPath = nonEmpty(values, 'tor-path')
  const testnet = nonEmpty(values, 'testnet')
  return {
    dataDir: dataDir !== undefined ? resolve(dataDir) : defaultDataDir(env),
    ...(config !== undefined ? { config: resolve(config) } : {}),
    ...(torPath !== undefined ? { torPath: resolve(torPath) } : {}),
    ...(testnet !== undefined ? { testnet: resolve(testnet) } : {}),
    json: values.json === true,
  }
}

/** Reads a whole number flag within bounds. */
export function integerOption(values: Record<string, string | boolean | string[] | undefined>, name: string, min: number, max: number): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new CliError('CLI_USAGE', `--${name} needs a whole number from ${min} to ${max}`)
  }
  return Number(v)
}
