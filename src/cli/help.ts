import { EXIT } from './errors.js'
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
  const args = spec.args.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`))
  return ['burrow', ...spec.path, ...(spec.options.length > 0 ? ['[options]'] : []), ...args].join(' ')
}

const EXIT_CODES = [
  `  ${EXIT.OK}  ok`,
  `  ${EXIT.FAILURE}  runtime failure`,
  `  ${EXIT.USAGE}  usage error`,
  `  ${EXIT.NOT_RUNNING}  node not running (no answer on <data dir>/burrow.sock)`,
  `  ${EXIT.NOT_FOUND}  not found (peer, group, or no node in the data directory)`,
  `  ${EXIT.KEYSTORE}  wrong passphrase or keystore error`,
]

const ROOT_HELP = [
  'Usage: burrow [global options] <command> [options] [arguments]',
  '',
  'Burrow: a private peer-to-peer node that lives only behind a Tor onion service.',
  '',
  'Commands:',
  ...commandLines(COMMANDS.flatMap((c) => c.subcommands ?? [c])),
  '',
  'Global options:',
  ...optionLines(GLOBAL_OPTIONS),
  '',
  'The passphrase of a sealed keystore comes from BURROW_PASSPHRASE, --passphrase-stdin or',
  'a prompt on a terminal, never from the command line.',
  '',
  'Errors print "burrow: <message> (<CODE>)" on stderr; with --json, { "error": { "code", "message" } } on stdout.',
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
