import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return filesUnder(path)
    return e.isFile() ? [path] : []
  })
}

/** Which of `needles` (by label) occur in which file under `dir`: `['label in file', …]`, empty when none does. */
export function findSecrets(dir: string, needles: Record<string, Uint8Array | string>): string[] {
  const hits: string[] = []
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file)
    for (const [label, needle] of Object.entries(needles)) {
      if (bytes.includes(typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle))) hits.push(`${label} in ${relative(dir, file)}`)
    }
  }
  return hits
}

/** Name → size, mtime and content of every file under `dir`: equal snapshots mean nothing was written. */
export function snapshotDir(dir: string): Record<string, string> {
  return Object.fromEntries(
    filesUnder(dir).map((f) => {
      const st = statSync(f)
      return [relative(dir, f), `${st.size} ${st.mtimeMs} ${readFileSync(f).toString('base64')}`]
    }),
  )
}
