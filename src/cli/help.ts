import { EXIT_MEANINGS } from './errors.js'
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './spec.js'

function optionLines(options: OptionSpec[]): string[] {
  const left = options.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`)
  const width = Math.max(...left.map((l) => l.length)) + 2
  return options.map((o, i) => `  ${left[i]!.padEnd(width)}${o.description}`)
}

function commandLines(commands: CommandSpec[]): string[] {
  const names = commands.map((c) => c.path.join(' '))
  const width = Math.max(...names.map((n) => n.length)) + 2
  return commands.map((c, i) => `  ${names[i]!.padEnd(width)}${c.summary}`)
}

function usageOf(spec: CommandSpec): string {
  if (spec.subcommands !== undefined) return `burrow ${spec.path.join(' ')} <${spec.subcommands.map((s) => s.path[s.path.length - 1]).join('|')}> [options]`
  const args = spec.args.map((a) => `${a.required ? `<${a.name}>` : `[${a.name}]`}${a.repeatable === true ? '…' : ''}`)
  return ['burrow', ...spec.path, ...(spec.options.length > 0 ? ['[options]'] : []), ...args].join(' ')
}

const ROOT_USAGE = 'burrow [global options] <command> [options] [arguments]'
const ROOT_DESCRIPTION = 'Burrow: a private peer-to-peer node that lives only behind a Tor onion service.'
const PASSPHRASE_NOTE =
  'The passphrase of a sealed keystore comes from --passphrase-file, --passphrase-stdin, BURROW_PASSPHRASE or a prompt on a terminal, never from the command line.'
const ERRORS_NOTE = 'Errors print "burrow: <message> (<CODE>)" on stderr; with --json, { "error": { "code", "message" } } on stdout.'
const EXIT_CODES = EXIT_MEANINGS.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`)
/** Every command that runs (not the groups of subcommands), in help order. */
const LEAF_COMMANDS = COMMANDS.flatMap((c) => c.subcommands ?? [c])

const ROOT_HELP = [
  `Usage: ${ROOT_USAGE}`,
  '',
  ROOT_DESCRIPTION,
  '',
  'Commands:',
  ...commandLines(LEAF_COMMANDS),
  '',
  'Global options:',
  ...optionLines(GLOBAL_OPTIONS),
  '',
  PASSPHRASE_NOTE,
  '',
  ERRORS_NOTE,
  '',
  'Exit codes:',
  ...EXIT_CODES,
  '',
  'Run `burrow <command> --help` for a command\'s flags, examples and --json output.',
]

/** Help for `burrow` itself, or for one command or group of subcommands. */
export function helpText(spec: CommandSpec | undefined): string {
  if (spec === undefined) return `${ROOT_HELP.join('\n')}\n`
  const lines = [`Usage: ${usageOf(spec)}`, '', spec.description, '']
  if (spec.subcommands !== undefined) lines.push('Subcommands:', ...commandLines(spec.subcommands), '')
  if (spec.options.length > 0) lines.push('Options:', ...optionLines(spec.options), '')
  lines.push('Global options:', ...optionLines(GLOBAL_OPTIONS), '')
  if (spec.json !== undefined) lines.push('--json output:', `  ${spec.json}`, '')
  if (spec.examples.length > 0) lines.push('Examples:', ...spec.examples.map((e) => `  ${e}`), '')
  lines.push('Exit codes:', ...EXIT_CODES)
  if (spec.subcommands !== undefined) lines.push('', `Run \`burrow ${spec.path.join(' ')} <subcommand> --help\` for details.`)
  return `${lines.join('\n')}\n`
}

function optionJson(o: OptionSpec): { flag: string; short?: string; value?: string; description: string } {
  return { flag: `--${o.name}`, ...(o.short !== undefined ? { short: `-${o.short}` } : {}), ...(o.value !== undefined ? { value: o.value } : {}), description: o.description }
}

function commandSummary(c: CommandSpec): { command: string; summary: string } {
  return { command: c.path.join(' '), summary: c.summary }
}

/** The same help as {@link helpText}, as one JSON value (for `--help --json`). */
export function helpJson(spec: CommandSpec | undefined): Record<string, unknown> {
  const common = { globalOptions: GLOBAL_OPTIONS.map(optionJson), exitCodes: EXIT_MEANINGS }
  if (spec === undefined) {
    return { usage: ROOT_USAGE, description: ROOT_DESCRIPTION, commands: LEAF_COMMANDS.map(commandSummary), passphrase: PASSPHRASE_NOTE, errors: ERRORS_NOTE, ...common }
  }
  return {
    command: spec.path.join(' '),
    usage: usageOf(spec),
    summary: spec.summary,
    description: spec.description,
    ...(spec.subcommands !== undefined ? { subcommands: spec.subcommands.map(commandSummary) } : {}),
    arguments: spec.args,
    options: spec.options.map(optionJson),
    ...(spec.json !== undefined ? { json: spec.json } : {}),
    examples: spec.examples,
    ...common,
  }
}
