import { lstatSync, unlinkSync } from 'node:fs'
import { createConnection } from 'node:net'
import { LocalApiError } from './errors.js'

/** Linux's `sun_path` holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107
const PROBE_TIMEOUT_MS = 2000

/** Throws `API_SOCKET_UNUSABLE` when `path` cannot be a unix socket path on this system. */
export function assertSocketPathLength(path: string): void {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new LocalApiError('API_SOCKET_UNUSABLE', `the socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter --data-dir`)
  }
}

/** Resolves whether something accepts connections on the unix socket `path` (bounded by a short timeout). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path })
    const done = (answers: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answers)
    }
    // A listener that accepts but is too busy to finish connecting counts as alive: better refuse than steal its path.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS)
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Makes `path` free for a new listener: nothing there, or a stale socket
 * left by a node that died (removed). Refuses when a node answers there
 * (`API_ALREADY_RUNNING`) or when the path is something other than a socket
 * (`API_SOCKET_UNUSABLE`: never delete a file we did not create).
 */
export async function clearStaleSocket(path: string): Promise<void> {
  assertSocketPathLength(path)
  let isSocket: boolean
  try {
    isSocket = lstatSync(path).isSocket()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new LocalApiError('API_SOCKET_UNUSABLE', `cannot inspect ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (!isSocket) throw new LocalApiError('API_SOCKET_UNUSABLE', `${path} exists and is not a socket; refusing to replace it`)
  if (await socketAnswers(path)) throw new LocalApiError('API_ALREADY_RUNNING', `a node is already running and serving ${path}`)
  try {
    unlinkSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new LocalApiError('API_SOCKET_UNUSABLE', `cannot remove the stale socket ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
}
