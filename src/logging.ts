import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

export type { Logger }

/**
 * Field names whose values are secret wherever they appear in a log record.
 * pino replaces them before serialisation, so a careless `log.info({ key })`
 * cannot leak. Secret-holding objects also define `toJSON` returning a
 * placeholder, which covers nested values these paths miss.
 */
export const REDACTED_FIELDS = [
  'seed', 'secret', 'secretKey', 'privateKey', 'key', 'cookie', 'password',
  'passphrase', 'plaintext', 'authCookie', 'clientAuthKey', 'onionKey',
] as const

const redactPaths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`])

/**
 * Creates Burrow's structured logger. Level comes from `BURROW_LOG_LEVEL`
 * (default `info`); records go to `destination`, by default stderr so stdout
 * stays free for CLI output.
 */
export function createLogger(options: LoggerOptions = {}, destination: DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level: process.env.BURROW_LOG_LEVEL ?? 'info',
      base: undefined,
      redact: { paths: redactPaths, censor: '[redacted]' },
      ...options,
    },
    destination,
  )
}

/** A logger that discards everything: the default for library objects built without one. */
export const silentLogger: Logger = pino({ level: 'silent' })
