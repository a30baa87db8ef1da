import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** One IPv4 TCP socket as the kernel lists it in `/proc/net/tcp`. */
export interface ProcTcpSocket {
  /** Dotted IPv4 address and port of this end. */
  localAddress: string
  localPort: number
  remoteAddress: string
  remotePort: number
  /** Kernel TCP state: 1 ESTABLISHED, 10 LISTEN, … (include/net/tcp_states.h). */
  state: number
  /** Inode of the socket; `/proc/<pid>/fd/*` links read `socket:[<inode>]`. */
  inode: number
}

/** TCP state number of a listening socket. */
export const TCP_LISTEN = 10

/**
 * Parses `/proc/net/tcp`. Addresses are the kernel's little-endian hex words,
 * ports big-endian hex; the inode is the 10th field:
 *
 * ```text
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0100007F:B717 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 26025 1 …
 *    1: 0100007F:9C4A 0100007F:B717 01 00000000:00000000 00:00000000 00000000     0        0 26391 1 …
 * ```
 *
 * The first line above is 127.0.0.1:46871 listening (state 0A), the second a
 * connection from 127.0.0.1:40010 to it. Lines that do not fit are skipped.
 */
export function parseProcNetTcp(text: string): ProcTcpSocket[] {
  const sockets: ProcTcpSocket[] = []
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    const local = parseEndpoint(fields[1])
    const remote = parseEndpoint(fields[2])
    const state = Number.parseInt(fields[3] ?? '', 16)
    const inode = Number(fields[9])
    if (local === undefined || remote === undefined || !Number.isInteger(state) || !Number.isInteger(inode)) continue
    sockets.push({ localAddress: local.address, localPort: local.port, remoteAddress: remote.address, remotePort: remote.port, state, inode })
  }
  return sockets
}

function parseEndpoint(field: string | undefined): { address: string; port: number } | undefined {
  const m = /^([0-9A-F]{8}):([0-9A-F]{4})$/.exec(field ?? '')
  if (m === null) return undefined
  const word = Number.parseInt(m[1] ?? '', 16)
  // The address word is in host (little-endian) byte order: its lowest byte is the first octet.
  const address = [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24].join('.')
  return { address, port: Number.parseInt(m[2] ?? '', 16) }
}

/** The IPv4 TCP sockets of this network namespace right now. */
export function readProcNetTcp(): ProcTcpSocket[] {
  return parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'))
}

/** Inodes of the sockets `pid` holds open; empty when the process is gone or not readable. */
export function socketInodesOf(pid: number): Set<number> {
  const inodes = new Set<number>()
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return inodes
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m !== null) inodes.add(Number(m[1]))
    } catch {
      // The descriptor closed between readdir and readlink.
    }
  }
  return inodes
}

/**
 * The inode of the socket at the far end of a connection this process
 * accepted on `listenPort` from `127.0.0.1:peerPort`, found as the socket
 * whose local end is that peer port and whose remote end is the listener.
 */
export function peerSocketInode(sockets: readonly ProcTcpSocket[], peerPort: number, listenPort: number): number | undefined {
  return sockets.find((s) => s.localPort === peerPort && s.remotePort === listenPort && s.state !== TCP_LISTEN)?.inode
}

/** The PID of the process listening on `127.0.0.1:port`, found through `/proc`; `undefined` if none is visible. */
export function pidListeningOn(port: number): number | undefined {
  const inode = readProcNetTcp().find((s) => s.state === TCP_LISTEN && s.localPort === port && (s.localAddress === '127.0.0.1' || s.localAddress === '0.0.0.0'))?.inode
  if (inode === undefined) return undefined
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    if (socketInodesOf(Number(entry)).has(inode)) return Number(entry)
  }
  return undefined
}
