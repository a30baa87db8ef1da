import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { TOR_ERRORS, TorError } from './errors.js'

// Debian installs tor in /usr/sbin, which is not on an unprivileged user's PATH.
const WELL_KNOWN = ['/usr/sbin/tor', '/usr/bin/tor', '/usr/local/bin/tor', '/usr/local/sbin/tor']

function notFound(detail: string): TorError {
  return new TorError('TOR_NOT_FOUND', `${detail}; ${TOR_ERRORS.TOR_NOT_FOUND}`)
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Finds the tor executable: the configured path if given (it must exist),
 * otherwise `tor` on PATH, otherwise Debian's usual locations.
 */
export function findTorBinary(configured?: string, envPath = process.env.PATH ?? ''): string {
  if (configured !== undefined) {
    if (!isAbsolute(configured)) throw notFound(`the tor path must be absolute, got "${configured}"`)
    if (!isExecutableFile(configured)) throw notFound(`no executable tor at ${configured}`)
    return configured
  }
  const candidates = [...envPath.split(delimiter).filter(isAbsolute).map((dir) => join(dir, 'tor')), ...WELL_KNOWN]
  const found = candidates.find(isExecutableFile)
  if (found === undefined) throw notFound('tor was not found on PATH nor in /usr/sbin, /usr/bin, /usr/local')
  return found
}
