import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { TimeoutError } from '../errors.js'
import { CliError } from './errors.js'
import { readStdinText, type CliIo } from './io.js'

/** Longest passphrase read from stdin or a file. */
const MAX_PASSPHRASE_BYTES = 4096
const PROMPT_TIMEOUT_MS = 5 * 60_000

/** Where the passphrase may come from, in order of preference. */
export interface PassphraseSources {
  /** `--passphrase-file PATH` was given. */
  file?: string
  /** `--passphrase-stdin` was given. */
  fromStdin: boolean
  /** Ask twice on a terminal (when creating a keystore). */
  confirm: boolean
}

/** A passphrase and whether it was typed at a prompt (so it may be asked for again). */
export interface Passphrase {
  value: string
  prompted: boolean
}

/**
 * The passphrase from `--passphrase-file`, else `--passphrase-stdin`, else
 * `BURROW_PASSPHRASE`, else a prompt without echo when stdin is a terminal;
 * `undefined` when none of these is available. Never from the command line,
 * where `ps` would show it.
 */
export async function readPassphrase(io: CliIo, sources: PassphraseSources): Promise<Passphrase | undefined> {
  if (sources.file !== undefined && sources.fromStdin) throw new CliError('CLI_USAGE', '--passphrase-file and --passphrase-stdin exclude each other')
  if (sources.file !== undefined) return { value: readPassphraseFile(sources.file), prompted: false }
  if (sources.fromStdin) return { value: await firstStdinLine(io), prompted: false }
  const env = io.env.BURROW_PASSPHRASE
  if (env !== undefined && env.length > 0) return { value: env, prompted: false }
  if (!canPrompt(io)) return undefined
  const first = await promptPassphrase(io)
  if (sources.confirm) {
    const again = await promptPassphrase(io, 'Passphrase again: ')
    if (again !== first) throw new CliError('CLI_USAGE', 'the two passphrases differ')
  }
  return { value: first, prompted: true }
}

/** Whether stdin is a terminal we can read a hidden passphrase from. */
export function canPrompt(io: CliIo): boolean {
  return io.stdin.isTTY === true && io.stdin.setRawMode !== undefined
}

/**
 * The whole file minus one trailing newline: what `echo … > FILE` and
 * systemd's `LoadCredential=` leave. Refused when every user of the machine
 * may read it. Group bits are allowed: systemd grants the service user read
 * access to a credential by an ACL, which shows as group bits (the ACL mask).
 */
export function readPassphraseFile(path: string): string {
  const fail = (why: string, cause?: unknown): CliError =>
    new CliError('CLI_PASSPHRASE_FILE', `--passphrase-file ${path}: ${why}`, cause !== undefined ? { cause } : undefined)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw fail(`cannot open it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw fail('not a regular file')
    if ((st.mode & 0o007) !== 0) {
      throw fail(`every user of this machine may read it (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); \`chmod 600\` it, or pass it with systemd's LoadCredential=`)
    }
    const buf = Buffer.alloc(MAX_PASSPHRASE_BYTES + 1)
    const n = readSync(fd, buf, 0, buf.length, 0)
    if (n > MAX_PASSPHRASE_BYTES) throw fail(`longer than ${MAX_PASSPHRASE_BYTES} bytes`)
    const value = buf.subarray(0, n).toString('utf8').replace(/\r?\n$/, '')
    buf.fill(0)
    if (value.length === 0) throw fail('it is empty')
    return value
  } finally {
    closeSync(fd)
  }
}

async function firstStdinLine(io: CliIo): Promise<string> {
  const line = await readStdinText(io, {
    what: 'the passphrase',
    maxBytes: MAX_PASSPHRASE_BYTES,
    tooLong: `--passphrase-stdin: the first line is longer than ${MAX_PASSPHRASE_BYTES} bytes`,
    firstLine: true,
  })
  if (line.length === 0) throw new CliError('CLI_USAGE', '--passphrase-stdin: stdin held no passphrase')
  return line
}

/** Asks on the terminal without echo. Ctrl-C there throws `CLI_CANCELLED`. */
export function promptPassphrase(io: CliIo, question = 'Passphrase: '): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = io.stdin
    let answer = ''
    io.stderr.write(question)
    stdin.setRawMode?.(true)
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      stdin.off('data', onData)
      stdin.setRawMode?.(false)
      stdin.pause()
      io.stderr.write('\n')
      if (err) reject(err)
      else resolve(answer)
    }
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish()
        if (ch === '\u0003') return finish(new CliError('CLI_CANCELLED'))
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1)
        else answer += ch
      }
    }
    const timer = setTimeout(() => finish(new TimeoutError('the passphrase prompt', PROMPT_TIMEOUT_MS)), PROMPT_TIMEOUT_MS)
    stdin.on('data', onData)
    stdin.resume()
  })
}
