import { Burrow, type BurrowOptions } from '../../src/node/index.js'
import { inject } from 'vitest'
import { tempDir } from './tor.js'

/** A new Burrow node in a temp data dir on the suite's private Tor network (not started); `extra` options for it, such as a keeper's quota. */
export async function testNode(
  name: string,
  extra: Partial<Pick<BurrowOptions, 'keeperQuota'>> = {},
): Promise<{ node: Burrow; dataDir: string; cleanup: () => void; reopen: () => Promise<Burrow> }> {
  const { dir, cleanup } = tempDir(`node-${name}`)
  await Burrow.init(dir)
  const options = { dataDir: dir, displayName: name, tor: { mode: 'managed' as const, testnet: inject('testnetDir') }, ...extra }
  return { node: await Burrow.open(options), dataDir: dir, cleanup, reopen: () => Burrow.open(options) }
}

/** Resolves when `check` holds, polling every 100 ms; rejects after `ms`. */
export async function eventually<T>(check: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Every text `node` decrypted in `group`, oldest first (the local view is read in pages of 1,000); none before it joined. */
export function texts(node: Burrow, group: string): string[] {
  if (!node.groups().some((g) => g.id === group)) return []
  const out: string[] = []
  for (let afterId = 0; ; ) {
    const page = node.messages(group, { afterId, limit: 1000 })
    out.push(...page.map((m) => m.text ?? ''))
    if (page.length < 1000) return out
    afterId = page.at(-1)!.id
  }
}
