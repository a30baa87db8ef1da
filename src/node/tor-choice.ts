import type { Logger } from '../logging.js'
import { clientTorrcLines, loadTestnet } from '../testnet/index.js'
import { Tor } from '../tor/index.js'
import type { TorChoice } from './types.js'

/** The Tor a node runs on, as the user chose: its own managed tor (on the real network or a private one), or the user's tor. */
export function torFor(choice: TorChoice, torDir: string, supervision: { bootstrapStallMs: number; logger: Logger }): Tor {
  const common = { bootstrap: { stallMs: supervision.bootstrapStallMs }, logger: supervision.logger }
  if (choice.mode === 'attach') {
    return Tor.attach({
      control: choice.control,
      ...(choice.cookieFile !== undefined ? { cookieFile: choice.cookieFile } : {}),
      ...(choice.password !== undefined ? { password: choice.password } : {}),
      ...common,
    })
  }
  const testnetLines = choice.testnet !== undefined ? clientTorrcLines(loadTestnet(choice.testnet).state) : []
  return Tor.managed({
    dataDir: torDir,
    extraTorrcLines: [...testnetLines, ...(choice.extraTorrcLines ?? [])],
    ...(choice.bridges !== undefined ? { bridges: choice.bridges } : {}),
    ...(choice.obfs4proxyPath !== undefined ? { obfs4proxyPath: choice.obfs4proxyPath } : {}),
    ...(choice.torPath !== undefined ? { torPath: choice.torPath } : {}),
    ...common,
  })
}
