import { TimeoutError } from '../errors.js'
import { CliUsageError } from './errors.js'
import type { CliIo } from './io.js'

/** Longest passphrase line read from stdin. */
const MAX_STDIN_BYTES = 4096
const STDIN_TIMEOUT_MS = 30_000
const PROMPT_TIMEOUT_MS = 5 * 60_000

/** Where the passphrase may come from, in order of preference. */
export interface PassphraseSources {
  /** `--passphrase-stdin` was given. */
  fromStdin: boolean
  /** Ask twice on a terminal (when creating a keystore). */
  confirm: boolean
}

/**
 * The passphrase from `--passphrase-stdin`, else `BURROW_PASSPHRASE`, else a
 * prompt without echo when stdin is a terminal; `undefined` when none of
 * these is available. Never from the command line, where `ps` would show it.
 */
export async function readPassphrase(io: CliIo, sources: PassphraseSources): Promise<string | undefined> {
  if (sources.fromStdin) return firstStdinLine(io)
  const env = io.env.BURROW_PASSPHRASE
  if (env !== undefined && env.length > 0) return env
  if (io.stdin.isTTY !== true || io.stdin.setRawMode === undefined) return undefined
  const first = await promptHidden(io, 'Passphrase: ')
  if (sources.confirm) {
    const again = await promptHidden(io, 'Passphrase again: ')
    if (again !== first) throw new CliUsageError('the two passphrases differ')
  }
  return first
}

function firstStdinLine(io: CliIo): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      io.stdin.off('data', onData)
      io.stdin.off('end', onEnd)
      io.stdin.off('error', onError)
      io.stdin.pause()
      if (err) return reject(err)
      const text = Buffer.concat(chunks).toString('utf8')
      const line = text.split(/\r?\n/)[0] ?? ''
      if (line.length === 0) return reject(new CliUsageError('--passphrase-stdin: stdin held no passphrase'))
      resolve(line)
    }
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      chunks.push(b)
      bytes += b.length
      if (b.includes(0x0a)) finish()
      else if (bytes > MAX_STDIN_BYTES) finish(new CliUsageError(`--passphrase-stdin: the first line is longer than ${MAX_STDIN_BYTES} bytes`))
    }
    const onEnd = (): void => finish()
    const onError = (err: Error): void => finish(err)
    const timer = setTimeout(() => finish(new TimeoutError('reading the passphrase from stdin', STDIN_TIMEOUT_MS)), STDIN_TIMEOUT_MS)
    io.stdin.on('data', onData)
    io.stdin.once('end', onEnd)
    io.stdin.once('error', onError)
    io.stdin.resume()
  })
}

function promptHidden(io: CliIo, question: string): Promise<string> {
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
        if (ch === '\u0003') return finish(new CliUsageError('cancelled'))
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1)
        else answer += ch
      }
    }
    const timer = setTimeout(() => finish(new TimeoutError('the passphrase prompt', PROMPT_TIMEOUT_MS)), PROMPT_TIMEOUT_MS)
    stdin.on('data', onData)
    stdin.resume()
  })
}
