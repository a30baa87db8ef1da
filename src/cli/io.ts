import { TimeoutError } from '../errors.js'
import { CliError } from './errors.js'

/** Where a command reads and writes: the real process, or a capture in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number }
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number }
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
  env: NodeJS.ProcessEnv
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }
}

/** How long a command waits for what it reads from stdin. */
const STDIN_TIMEOUT_MS = 30_000

/** What {@link readStdinText} reads, and what it says when there is too much. */
export interface StdinRead {
  /** What is read, for the timeout's message ("the proof"). */
  what: string
  maxBytes: number
  /** The CLI_USAGE message when more than `maxBytes` arrive. */
  tooLong: string
  /** Stop at the first newline (a passphrase) rather than at the end of stdin. */
  firstLine?: boolean
}

/**
 * Stdin as UTF-8 text, bounded in size and time: all of it, or with
 * `firstLine` up to and without its first newline.
 *
 * @throws CliError `CLI_USAGE` when more than `maxBytes` arrive first; TimeoutError after 30 s
 */
export function readStdinText(io: CliIo, read: StdinRead): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      io.stdin.off('data', onData)
      io.stdin.off('end', onEnd)
      io.stdin.off('error', onError)
      io.stdin.pause()
      if (err !== undefined) return reject(err)
      const text = Buffer.concat(chunks).toString('utf8')
      resolve(read.firstLine === true ? (text.split(/\r?\n/)[0] ?? '') : text)
    }
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      chunks.push(b)
      bytes += b.length
      if (read.firstLine === true && b.includes(0x0a)) finish()
      else if (bytes > read.maxBytes) finish(new CliError('CLI_USAGE', read.tooLong))
    }
    const onEnd = (): void => finish()
    const onError = (err: Error): void => finish(err)
    const timer = setTimeout(() => finish(new TimeoutError(`reading ${read.what} from stdin`, STDIN_TIMEOUT_MS)), STDIN_TIMEOUT_MS)
    io.stdin.on('data', onData)
    io.stdin.once('end', onEnd)
    io.stdin.once('error', onError)
    io.stdin.resume()
  })
}
