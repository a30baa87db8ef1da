import { ADD_ONION_UNIX_PATH } from './control/index.js'
import { TorError } from './errors.js'

/**
 * The longest unix socket path Linux takes: `sun_path` holds 108 bytes with
 * the terminating NUL. Tor refuses a longer SocksPort or ControlSocket path
 * ("is too long to fit") and Node cannot listen on one.
 */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107

/**
 * Returns `path` if it can be a unix socket address: absolute, no NUL, at
 * most {@link MAX_UNIX_SOCKET_PATH_BYTES} bytes of UTF-8.
 *
 * @throws TorError `TOR_SOCKET_PATH_UNUSABLE` naming `what` and the path otherwise
 */
export function assertUnixSocketPath(path: string, what: string): string {
  if (!path.startsWith('/') || path.includes('\0')) {
    throw new TorError('TOR_SOCKET_PATH_UNUSABLE', `${what} must be an absolute path without NUL: ${JSON.stringify(path)}`)
  }
  const bytes = Buffer.byteLength(path, 'utf8')
  if (bytes > MAX_UNIX_SOCKET_PATH_BYTES) {
    throw new TorError(
      'TOR_SOCKET_PATH_UNUSABLE',
      `${what} would be ${path} (${bytes} bytes), longer than the ${MAX_UNIX_SOCKET_PATH_BYTES} bytes a unix socket path may have: use a data directory with a shorter path`,
    )
  }
  return path
}

/**
 * Returns `path` if it can be an onion service's unix socket target: a unix
 * socket path ({@link assertUnixSocketPath}) that tor's ADD_ONION can carry.
 *
 * @throws TorError `TOR_SOCKET_PATH_UNUSABLE` otherwise
 */
export function assertOnionTargetPath(path: string): string {
  assertUnixSocketPath(path, 'the onion service socket')
  if (!ADD_ONION_UNIX_PATH.test(path)) {
    throw new TorError(
      'TOR_SOCKET_PATH_UNUSABLE',
      `the onion service socket ${JSON.stringify(path)} has a blank, quote, comma, backslash or '#', which tor's ADD_ONION cannot take: use a data directory without them`,
    )
  }
  return path
}
