import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { MAX_FILE_WRITE_BYTES, type ApiEvent, type FileJson, type FileProgressJson, type LocalApiClient, type MessageJson } from '../api/index.js'
import { CliError, EXIT } from './errors.js'
import { ago, printableLine, shortId, table } from './format.js'
import type { CliIo } from './io.js'
import { LineOutput, progressLine } from './progress.js'
import { fileProblem } from '../util/file-errors.js'
import { connect, printJson, withApi, type Run } from './api-commands.js'

/** `1.2 MiB`: a size for people. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`
}

const PERIOD_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/** `90m`, `12h`, `30d`, `2w` → ms; `off` → null. */
export function parsePeriod(text: string): number | null {
  if (text === 'off' || text === 'none') return null
  const match = /^(\d{1,6})([mhdw])$/.exec(text)
  if (match === null) throw new CliError('CLI_USAGE', `a retention period is a number and a unit (m, h, d or w), e.g. 30d, or off; not "${printableLine(text.slice(0, 40))}"`)
  return Number(match[1]) * PERIOD_UNITS[match[2]!]!
}

/** A period for people: the largest unit it is a whole number of. */
export function formatPeriod(ms: number | null): string {
  if (ms === null) return 'off'
  for (const [unit, size] of Object.entries(PERIOD_UNITS).reverse()) if (ms % size === 0) return `${ms / size}${unit}`
  return `${Math.round(ms / 1000)}s`
}

function fileState(f: FileJson): string {
  return f.complete ? 'complete' : `${f.chunksHeld} of ${f.chunks} chunks`
}

/** What `read` shows for an entry that announces a file. */
export function fileEntry(f: FileJson): string {
  return `[file] ${printableLine(f.name)}, ${formatBytes(f.size)}, ${printableLine(f.mediaType)}, ${fileState(f)} (id ${f.id.slice(0, 12)})`
}

/**
 * Draws a transfer's progress on a terminal's stderr (nothing elsewhere:
 * logs and pipes get the final line only). Returns the listener for the
 * connection's events, and the end of the drawing.
 */
function progressBar(io: CliIo, label: string): { onEvent: (e: ApiEvent) => void; done: () => void } {
  const lines = new LineOutput(io.stdout, io.stderr)
  const stopResize = lines.redrawOnResize()
  return {
    onEvent: (e) => {
      if (e.event !== 'file:progress') return
      const p = e.data as FileProgressJson
      const total = p.size ?? null
      const summary = total === null ? `${formatBytes(p.bytes)}` : `${formatBytes(p.bytes)} of ${formatBytes(total)}`
      const pct = total === null || total === 0 ? (p.totalChunks === null ? 0 : 100) : (100 * p.bytes) / total
      lines.progress((columns) => progressLine(`${label} ${printableLine(p.name).slice(0, 40)}`, { progress: pct, summary }, columns))
    },
    done: () => {
      lines.progress(undefined)
      stopResize()
    },
  }
}

/** `burrow send <group> --file PATH` (or `-` for stdin): sends a file of any size. */
export async function sendFile(run: Run, io: CliIo, group: string, file: string): Promise<number> {
  const name = typeof run.options.name === 'string' ? run.options.name : undefined
  const mediaType = typeof run.options.type === 'string' ? run.options.type : undefined
  const meta = { ...(name !== undefined ? { name } : {}), ...(mediaType !== undefined ? { mediaType } : {}) }
  const api = await connect(run)
  const bar = progressBar(io, 'sending')
  api.onEvent(bar.onEvent)
  let m: MessageJson
  try {
    m = file === '-' ? await sendStdin(api, io, group, meta) : await api.call('file.send', { group, path: localFile(file), ...meta, progress: true })
  } finally {
    bar.done()
    await api.close()
  }
  if (run.globals.json) printJson(io, m)
  else io.stdout.write(`sent file ${printableLine(m.file?.name ?? '')} (${formatBytes(m.file?.size ?? 0)}) to ${m.group.slice(0, 12)} as ${m.file?.id.slice(0, 12)}; members fetch it when they sync\n`)
  return EXIT.OK
}

/** An absolute path to a regular file, checked here first for a clear message (the node checks again). */
function localFile(path: string): string {
  const absolute = resolve(path)
  try {
    if (!statSync(absolute).isFile()) throw new CliError('CLI_FILE', `${path} is not a regular file`)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError('CLI_FILE', `cannot read ${path}: ${fileProblem(err)}`, { cause: err })
  }
  return absolute
}

/**
 * Streams stdin to the node in pieces (its size is not known up front):
 * the node seals and stores them as they come and announces the file after
 * the last one. Nothing of it touches the disk in the clear.
 */
async function sendStdin(api: LocalApiClient, io: CliIo, group: string, meta: { name?: string; mediaType?: string }): Promise<MessageJson> {
  const { upload } = await api.call('file.upload', { group, ...meta })
  let pending = Buffer.alloc(0)
  const flush = async (piece: Buffer): Promise<void> => {
    await api.call('file.write', { upload, data: piece.toString('base64') })
  }
  for await (const chunk of io.stdin) {
    pending = Buffer.concat([pending, typeof chunk === 'string' ? Buffer.from(chunk) : chunk])
    while (pending.length >= MAX_FILE_WRITE_BYTES) {
      await flush(pending.subarray(0, MAX_FILE_WRITE_BYTES))
      pending = pending.subarray(MAX_FILE_WRITE_BYTES)
    }
  }
  if (pending.length > 0) await flush(pending)
  return api.call('file.finish', { upload })
}

/** `burrow files <group>` */
async function files(run: Run, io: CliIo): Promise<number> {
  const result = await withApi(run, (api) => api.call('file.list', { group: run.args[0]! }))
  if (run.globals.json) printJson(io, result)
  else if (result.files.length === 0) io.stdout.write('no files in this group yet; send one with `burrow send <group> --file PATH`\n')
  else {
    io.stdout.write(
      table(
        ['ID', 'NAME', 'SIZE', 'FROM', 'STATE', 'SENT'],
        result.files.map((f) => [f.id.slice(0, 12), f.name, formatBytes(f.size), f.self ? 'you' : (f.senderName ?? shortId(f.senderPeerId)), fileState(f), ago(f.sentAt)]),
      ),
    )
  }
  return EXIT.OK
}

/** `burrow get <group> <file> [--out PATH] [--force] [--wait]` */
async function get(run: Run, io: CliIo): Promise<number> {
  const [group, file] = run.args as [string, string]
  const out = resolve(typeof run.options.out === 'string' ? run.options.out : '.')
  const api = await connect(run)
  const bar = progressBar(io, 'saving')
  api.onEvent(bar.onEvent)
  let saved: { file: FileJson; path: string }
  try {
    saved = await api.call('file.save', { group, file, out, force: run.options.force === true, wait: run.options.wait === true, progress: true })
  } finally {
    bar.done()
    await api.close()
  }
  if (run.globals.json) printJson(io, saved)
  else io.stdout.write(`saved ${printableLine(saved.file.name)} (${formatBytes(saved.file.size)}, SHA-256 checked) to ${printableLine(saved.path)}\n`)
  return EXIT.OK
}

/** `burrow delete <group> <message-or-file>` */
async function deleteEntry(run: Run, io: CliIo): Promise<number> {
  const [group, entry] = run.args as [string, string]
  const removed = await withApi(run, (api) => api.call('delete', { group, entry }))
  if (run.globals.json) printJson(io, removed)
  else if (removed.file !== undefined) io.stdout.write(`deleted file ${printableLine(removed.file.name)} (${removed.file.id.slice(0, 12)}) for every member\n`)
  else io.stdout.write(`deleted message #${removed.message?.id} for every member\n`)
  return EXIT.OK
}

/** `burrow group retention <group> <period|off>` */
async function groupRetention(run: Run, io: CliIo): Promise<number> {
  const [group, period] = run.args as [string, string]
  const g = await withApi(run, (api) => api.call('group.retention', { group, periodMs: parsePeriod(period) }))
  if (run.globals.json) printJson(io, g)
  else io.stdout.write(g.retentionMs === null ? `retention off in ${g.id.slice(0, 12)}: kept until deleted\n` : `retention in ${g.id.slice(0, 12)}: every member deletes what is older than ${formatPeriod(g.retentionMs)}\n`)
  return EXIT.OK
}

/** Commands for files, deletion and retention, by command path. */
export const FILE_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  files,
  get,
  delete: deleteEntry,
  'group retention': groupRetention,
}
