import { TimeoutError } from '../errors.js'
import { CliError } from './errors.js'
import type { CliIo } from './io.js'

/** How long a yes/no question waits for an answer. */
const CONFIRM_TIMEOUT_MS = 5 * 60_000

/** Longest answer line read. */
const MAX_ANSWER_BYTES = 256

/** Whether stdin is a terminal a person can answer a question on. */
export function canAsk(io: CliIo): boolean {
  return io.stdin.isTTY === true
}

/**
 * Asks a yes/no question on the terminal (the question on stderr; the
 * terminal echoes and edits the answer line itself): true only for "y" or
 * "yes". Ctrl-C throws `CLI_CANCELLED`; no answer within 5 minutes throws
 * `TIMEOUT`. Only call it when {@link canAsk}.
 */
export function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(question)
  return new Promise((resolve, reject) => {
    let answer = ''
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      io.stdin.off('data', onData)
      io.stdin.off('end', onEnd)
      process.off('SIGINT', onSigint)
      io.stdin.pause()
      if (err !== undefined) reject(err)
      else resolve(/^\s*y(es)?\s*$/i.test(answer))
    }
    const onData = (chunk: Buffer | string): void => {
      answer += chunk.toString()
      const newline = answer.search(/\r?\n/)
      if (newline !== -1) {
        answer = answer.slice(0, newline)
        finish()
      } else if (answer.length > MAX_ANSWER_BYTES) finish()
    }
    const onEnd = (): void => finish()
    const onSigint = (): void => {
      io.stderr.write('\n')
      finish(new CliError('CLI_CANCELLED'))
    }
    const timer = setTimeout(() => finish(new TimeoutError('waiting for an answer', CONFIRM_TIMEOUT_MS)), CONFIRM_TIMEOUT_MS)
    io.stdin.on('data', onData)
    io.stdin.once('end', onEnd)
    process.once('SIGINT', onSigint)
    io.stdin.resume()
  })
}
