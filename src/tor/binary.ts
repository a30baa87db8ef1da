import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { TorNotFoundError } from './errors.js'

// Debian installs tor in /usr/sbin, which is not on an unprivileged user's PATH.
const WELL_KNOWN = ['/usr/sbin/tor', '/usr/bin/tor', '/usr/local/bin/tor', '/usr/local/sbin/tor']

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
    if (!isAbsolute(configured)) throw new TorNotFoundError(`the tor path must be absolute, got "${configured}"`)
    if (!isExecutableFile(configured)) throw new TorNotFoundError(`no executable tor at ${configured}`)
    return configured
  }
  const candidates = [...envPath.split(delimiter).filter(isAbsolute).map((dir) => join(dir, 'tor')), ...WELL_KNOWN]
  const found = candidates.find(isExecutableFile)
  if (found === undefined) throw new TorNotFoundError('tor was not found on PATH nor in /usr/sbin, /usr/bin, /usr/local')
  return found
}
