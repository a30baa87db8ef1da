import { homedir } from 'node:os'
import { join } from 'node:path'

/** The files of a node inside its data directory (0700). */
export interface NodePaths {
  dataDir: string
  /** SQLite database: logs, allow-list, group states, local view. */
  database: string
  /** The node's own tor data directory. */
  torDir: string
  /** The local API's unix socket (0600). */
  socket: string
  /** The unix socket our onion service forwards to (0600): the node's only network listener. */
  onionSocket: string
  /** Optional settings file. */
  config: string
}

/** Layout of a data directory. */
export function nodePaths(dataDir: string): NodePaths {
  return {
    dataDir,
    database: join(dataDir, 'burrow.db'),
    torDir: join(dataDir, 'tor'),
    socket: join(dataDir, 'burrow.sock'),
    onionSocket: join(dataDir, 'onion.sock'),
    config: join(dataDir, 'config.json'),
  }
}

/** `$XDG_DATA_HOME/burrow`, or `~/.local/share/burrow` (the XDG default). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'burrow')
}
