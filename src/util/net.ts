import { createServer, isIPv4, isIPv6 } from 'node:net'

/**
 * True only for an IP *literal* in 127.0.0.0/8 or ::1. Names such as
 * `localhost` are refused on purpose: resolving them would be a DNS lookup,
 * and Burrow never resolves a name.
 */
export function isLoopbackIp(host: string): boolean {
  if (isIPv4(host)) return host.split('.')[0] === '127'
  if (isIPv6(host)) return host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host)
  return false
}

/**
 * Asks the kernel for a free TCP port on 127.0.0.1. The port is released
 * before returning, so a racing process could take it: use only where the
 * consumer cannot bind port 0 itself (tor's ORPort/DirPort in the test network).
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port assigned'))
      })
    })
  })
}
