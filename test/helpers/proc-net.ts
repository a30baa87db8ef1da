/**
 * Which TCP sockets a process listens on, read from procfs (Linux): the
 * socket inodes among `/proc/<pid>/fd` matched against the LISTEN entries
 * (state 0A) of `/proc/net/tcp` and `/proc/net/tcp6`.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** One listening TCP socket: its local address as procfs writes it (hex) and its port. */
export interface TcpListener {
  inode: string
  local: string
  port: number
}

/** The socket inodes among a process's open file descriptors. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed meanwhile
    }
    const match = /^socket:\[(\d+)\]$/.exec(target)
    if (match?.[1] !== undefined) inodes.add(match[1])
  }
  return inodes
}

/** Every TCP socket (IPv4 and IPv6) in LISTEN state that `pid` holds. */
export function listeningTcpSockets(pid: number): TcpListener[] {
  const mine = socketInodes(pid)
  const found: TcpListener[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const [, local = '', , state, , , , , , inode = ''] = fields
      if (state !== '0A' || !mine.has(inode)) continue
      found.push({ inode, local, port: Number.parseInt(local.split(':')[1] ?? '', 16) })
    }
  }
  return found
}
