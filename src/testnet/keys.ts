import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { TestnetError } from './errors.js'
import { findExecutable, runTool } from './process.js'

const KEY_TOOL_TIMEOUT_MS = 30_000

/**
 * Creates a tor relay identity in `<dataDir>/keys` (tor writes it on first
 * use) and returns its fingerprint, 40 upper-case hex digits.
 */
export async function createRelayIdentity(torPath: string, dataDir: string): Promise<string> {
  await runTool(
    torPath,
    ['--ignore-missing-torrc', '-f', 'none', '--orport', '1', '--datadirectory', dataDir, '--GeoIPFile', '/dev/null', '--GeoIPv6File', '/dev/null', '--list-fingerprint'],
    { timeoutMs: KEY_TOOL_TIMEOUT_MS },
  )
  // The file reads "<nickname> <fingerprint>".
  const fingerprint = readFileSync(join(dataDir, 'fingerprint'), 'utf8').trim().split(/\s+/)[1]
  if (fingerprint === undefined || !/^[0-9A-F]{40}$/.test(fingerprint)) {
    throw new TestnetError('TESTNET_START_FAILED', `tor wrote no usable fingerprint in ${dataDir}`)
  }
  return fingerprint
}

/**
 * Creates the v3 authority keys and certificate tor expects in
 * `<dataDir>/keys` and returns the v3 identity fingerprint. The identity key
 * gets an empty passphrase: it protects nothing outside a throwaway network.
 */
export async function createAuthorityKeys(torPath: string, dataDir: string, dirPort: number): Promise<string> {
  const keys = join(dataDir, 'keys')
  mkdirSync(keys, { recursive: true, mode: 0o700 })
  const gencert = findExecutable('tor-gencert', undefined, [join(dirname(torPath), 'tor-gencert'), '/usr/bin/tor-gencert'])
  await runTool(
    gencert,
    [
      '--create-identity-key', '--passphrase-fd', '0',
      '-i', join(keys, 'authority_identity_key'),
      '-s', join(keys, 'authority_signing_key'),
      '-c', join(keys, 'authority_certificate'),
      '-m', '12',
      '-a', `127.0.0.1:${dirPort}`,
    ],
    { input: '\n', timeoutMs: KEY_TOOL_TIMEOUT_MS },
  )
  const cert = readFileSync(join(keys, 'authority_certificate'), 'utf8')
  const v3ident = /^fingerprint ([0-9A-F]{40})$/m.exec(cert)?.[1]
  if (v3ident === undefined) throw new TestnetError('TESTNET_START_FAILED', `authority certificate in ${keys} has no fingerprint line`)
  return v3ident
}
