/**
 * A scripted stand-in for tor's control port, on 127.0.0.1 or a unix socket:
 * for the control client's unit tests and for impostors (a local user who
 * binds the control port while the real tor is down).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'

/** Called for every line the client sends; `conn` is the socket to answer on. */
export type Script = (line: string, conn: Socket) => void

export class FakeTor {
  readonly received: string[] = []
  readonly connections: Socket[] = []
  script: Script = (_line, conn) => conn.write('250 OK\r\n')
  /** Like tor: answer QUIT and hang up, whatever the script does. */
  answerQuit = true
  onConnection: (conn: Socket) => void = () => {}

  private constructor(private readonly server: Server) {}

  static async start(listen: { port: 0 } | { path: string } = { port: 0 }): Promise<FakeTor> {
    const server = createServer()
    const fake = new FakeTor(server)
    server.on('connection', (conn) => {
      fake.connections.push(conn)
      conn.on('error', () => {})
      let buffered = ''
      conn.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8')
        for (let i = buffered.indexOf('\r\n'); i !== -1; i = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, i)
          buffered = buffered.slice(i + 2)
          fake.received.push(line)
          if (line === 'QUIT' && fake.answerQuit) conn.end('250 closing connection\r\n')
          else fake.script(line, conn)
        }
      })
      fake.onConnection(conn)
    })
    await new Promise<void>((resolve) => ('path' in listen ? server.listen(listen.path, resolve) : server.listen(0, '127.0.0.1', resolve)))
    return fake
  }

  get port(): number {
    const address = this.server.address()
    if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
    return address.port
  }

  close(): Promise<void> {
    for (const c of this.connections) c.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

/** The cookie the fake "knows" (when it plays the real tor). */
export const COOKIE = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff))
const SERVER_KEY = 'Tor safe cookie authentication server-to-controller hash'
const CLIENT_KEY = 'Tor safe cookie authentication controller-to-server hash'

/** The PROTOCOLINFO reply a fake offering `methods` (and naming `cookieFile`) sends. */
export function protocolInfoReply(methods: string, cookieFile?: string): string {
  const file = cookieFile === undefined ? '' : ` COOKIEFILE="${cookieFile}"`
  return `250-PROTOCOLINFO 1\r\n250-AUTH METHODS=${methods}${file}\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n`
}

/**
 * Tor's side of PROTOCOLINFO / AUTHCHALLENGE / AUTHENTICATE, computed
 * independently with @noble/hashes. `cookie` is what the fake believes the
 * cookie is (a wrong one plays an impostor that cannot pass SAFECOOKIE).
 * Lines the script does not know are answered by `otherwise` (default `250 OK`).
 */
export function authScript(opts: {
  methods: string
  cookieFile?: string
  password?: string
  cookie?: Buffer
  corruptServerHash?: boolean
  otherwise?: Script
}): Script {
  const cookie = opts.cookie ?? COOKIE
  let expectedClientHash: string | undefined
  return (line, conn) => {
    if (line === 'PROTOCOLINFO 1') {
      conn.write(protocolInfoReply(opts.methods, opts.cookieFile))
    } else if (line.startsWith('AUTHCHALLENGE SAFECOOKIE ')) {
      const clientNonce = Buffer.from(line.split(' ')[2] ?? '', 'hex')
      const serverNonce = Buffer.alloc(32, 0x5a)
      const message = Buffer.concat([cookie, clientNonce, serverNonce])
      const serverHash = Buffer.from(hmac(sha256, Buffer.from(SERVER_KEY), message))
      if (opts.corruptServerHash === true) serverHash[0] = (serverHash[0] as number) ^ 1
      expectedClientHash = Buffer.from(hmac(sha256, Buffer.from(CLIENT_KEY), message)).toString('hex')
      conn.write(`250 AUTHCHALLENGE SERVERHASH=${serverHash.toString('hex').toUpperCase()} SERVERNONCE=${serverNonce.toString('hex').toUpperCase()}\r\n`)
    } else if (line.startsWith('AUTHENTICATE')) {
      const credential = line.slice('AUTHENTICATE'.length).trim()
      const accepted =
        (expectedClientHash !== undefined && credential.toLowerCase() === expectedClientHash) ||
        (opts.methods.split(',').includes('COOKIE') && credential.length === 64) ||
        (opts.password !== undefined && credential === opts.password) ||
        (opts.methods === 'NULL' && credential === '')
      if (accepted) conn.write('250 OK\r\n')
      else conn.end('515 Authentication failed: bad credential\r\n')
    } else if (line === 'GETINFO version') {
      conn.write('250-version=0.4.9.11\r\n250 OK\r\n')
    } else if (opts.otherwise !== undefined) {
      opts.otherwise(line, conn)
    } else {
      conn.write('250 OK\r\n')
    }
  }
}
