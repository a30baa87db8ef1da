import { get } from 'node:http'

/** Where authorities serve the current microdescriptor-flavoured consensus. */
export const CONSENSUS_PATH = '/tor/status-vote/current/consensus-microdesc'

const MAX_BODY_BYTES = 8 << 20

/**
 * Fetches a document from an authority's DirPort on 127.0.0.1. Resolves to
 * the body on HTTP 200 and to `undefined` on any other status, a refused
 * connection, an oversized body or after `timeoutMs`: while a network comes
 * up all of these simply mean "not yet".
 */
export function fetchFromDirPort(dirPort: number, path: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port: dirPort, path, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        resolve(undefined)
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY_BYTES) req.destroy()
        else chunks.push(chunk)
      })
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      res.on('error', () => resolve(undefined))
      res.on('close', () => resolve(undefined))
    })
    req.on('error', () => resolve(undefined))
  })
}
