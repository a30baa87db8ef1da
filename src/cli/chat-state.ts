/**
 * What `burrow chat` knows about the other people in a group, from the
 * ephemeral messages chat clients exchange (never stored by anyone):
 *
 *     {"burrowChat":1,"here":true}     sent on start and every HERE_EVERY_MS
 *     {"burrowChat":1,"typing":true}   sent at most every TYPING_EVERY_MS while typing
 *     {"burrowChat":1,"here":false}    sent on leaving
 *
 * Anything else in an ephemeral message is ignored. A member is "in the
 * chat" for HERE_TTL_MS after its last `here` or `typing`, and "typing" for
 * TYPING_TTL_MS after its last `typing`: a client that vanishes without
 * saying goodbye drops out by itself.
 *
 * File transfers of the group show in the status line from the node's
 * `file:progress` events ({@link ChatTransfers}).
 */
import type { FileProgressJson } from '../api/index.js'

export const HERE_EVERY_MS = 15_000
export const HERE_TTL_MS = 40_000
export const TYPING_EVERY_MS = 3_000
export const TYPING_TTL_MS = 6_000

/** The chat signal an ephemeral message carries, or undefined for anything else. */
export type ChatSignal = { kind: 'here' } | { kind: 'gone' } | { kind: 'typing' }

/** Reads a chat signal from an ephemeral message's text. */
export function parseChatSignal(text: string | undefined): ChatSignal | undefined {
  if (text === undefined || text.length > 200) return undefined
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (v === null || typeof v !== 'object' || (v as { burrowChat?: unknown }).burrowChat !== 1) return undefined
  const s = v as { here?: unknown; typing?: unknown }
  if (s.typing === true) return { kind: 'typing' }
  if (s.here === true) return { kind: 'here' }
  if (s.here === false) return { kind: 'gone' }
  return undefined
}

/** The wire text of a signal. */
export function chatSignalText(signal: ChatSignal): string {
  return JSON.stringify(signal.kind === 'typing' ? { burrowChat: 1, typing: true } : { burrowChat: 1, here: signal.kind === 'here' })
}

/** Who is in the chat and who is typing, by peer id. */
export class ChatPresence {
  readonly #here = new Map<string, { name: string; at: number }>()
  readonly #typing = new Map<string, number>()

  /**
   * Records a signal from `peerId` (shown as `name`) received at `now`.
   * Returns whether it just arrived (was not in the chat): the caller then
   * says `here` at once, so that a chat opened a moment before ours, whose
   * `here` we missed, learns of us without waiting for the next one.
   */
  apply(peerId: string, name: string, signal: ChatSignal, now: number): boolean {
    const known = this.#here.get(peerId)
    const arrived = known === undefined || now - known.at > HERE_TTL_MS
    if (signal.kind === 'gone') {
      this.#here.delete(peerId)
      this.#typing.delete(peerId)
      return false
    }
    this.#here.set(peerId, { name, at: now })
    if (signal.kind === 'typing') this.#typing.set(peerId, now)
    return arrived
  }

  /** A message from `peerId` ends its typing. */
  messageFrom(peerId: string): void {
    this.#typing.delete(peerId)
  }

  /** Names in the chat and names typing at `now`, sorted. */
  at(now: number): { here: string[]; typing: string[] } {
    const here: string[] = []
    const typing: string[] = []
    for (const [peerId, h] of this.#here) {
      if (now - h.at > HERE_TTL_MS) continue
      here.push(h.name)
      const t = this.#typing.get(peerId)
      if (t !== undefined && now - t <= TYPING_TTL_MS) typing.push(h.name)
    }
    return { here: here.sort(), typing: typing.sort() }
  }
}

/** A file transfer as the chat shows it: a `file:progress` event without its group (the chat's own). */
export type TransferProgress = Omit<FileProgressJson, 'groupId'>

/** How long a finished transfer stays on the status line. */
export const TRANSFER_DONE_TTL_MS = 5_000
/** A transfer with no progress for this long leaves the status line (its peer went away; it resumes later). */
export const TRANSFER_STALLED_TTL_MS = 60_000
/** Transfers remembered at most (the oldest forgotten first); two are shown. */
const MAX_TRANSFERS = 32
const SHOWN_TRANSFERS = 2

/**
 * The group's file transfers in progress: ours being stored, then handed to
 * each peer (`↑ name → bob`), members' arriving (`↓`); one entry per file,
 * direction and peer. `nameOf` names a peer.
 */
export class ChatTransfers {
  readonly #transfers = new Map<string, { p: TransferProgress; at: number }>()

  constructor(readonly nameOf: (peerId: string) => string) {}

  /** Records a progress event received at `now`. */
  apply(p: TransferProgress, now: number): void {
    const key = `${p.direction}:${p.fileId}:${p.peerId ?? ''}`
    // Once our file is handed to a peer, its storing is over: show the peers only.
    if (p.direction === 'send' && p.peerId !== undefined) this.#transfers.delete(`send:${p.fileId}:`)
    this.#transfers.delete(key)
    this.#transfers.set(key, { p, at: now })
    if (this.#transfers.size > MAX_TRANSFERS) this.#transfers.delete(this.#transfers.keys().next().value!)
  }

  /** `↓ photo.jpg 45%, ↑ notes.txt 100%, +1 more` at `now`; empty when nothing moves. */
  at(now: number): string {
    const live: string[] = []
    for (const [key, { p, at }] of this.#transfers) {
      const done = p.totalChunks !== null && p.chunks >= p.totalChunks
      if (now - at > (done ? TRANSFER_DONE_TTL_MS : TRANSFER_STALLED_TTL_MS)) this.#transfers.delete(key)
      else live.push(`${p.direction === 'send' ? '↑' : '↓'} ${p.name}${p.direction === 'send' && p.peerId !== undefined ? ` → ${this.nameOf(p.peerId)}` : ''} ${transferPercent(p)}`)
    }
    // Newest first: the map keeps the order of the last update.
    live.reverse()
    const more = live.length - SHOWN_TRANSFERS
    return [...live.slice(0, SHOWN_TRANSFERS), ...(more > 0 ? [`+${more} more`] : [])].join(', ')
  }
}

function transferPercent(p: TransferProgress): string {
  if (p.size === null || p.totalChunks === null) return `${p.bytes} bytes`
  if (p.totalChunks === 0) return '100%'
  return `${Math.floor((100 * p.chunks) / p.totalChunks)}%`
}

/** The status line: who else is here, who is typing, the transfers moving. */
export function statusLine(state: { here: string[]; typing: string[] }, connected: number, transfers = ''): string {
  const here = state.here.length === 0 ? 'nobody else in the chat' : `in the chat: ${state.here.join(', ')}`
  const typing = state.typing.length === 0 ? '' : ` · ${state.typing.join(', ')} ${state.typing.length === 1 ? 'is' : 'are'} typing…`
  return `${here}${typing} · ${connected} member${connected === 1 ? '' : 's'} connected${transfers === '' ? '' : ` · ${transfers}`}`
}

/**
 * What a keystroke chunk does to the input line. Printable text is added,
 * Backspace removes a character, Ctrl-U clears, Enter submits, Ctrl-C and
 * Ctrl-D (on an empty line) quit; escape sequences (arrows) are ignored.
 */
export function editInput(line: string, chunk: string): { line: string; submitted: string[]; quit: boolean } {
  const submitted: string[] = []
  let quit = false
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!
    const code = c.charCodeAt(0)
    if (c === '\x1b') {
      // CSI or SS3 sequence: ESC [ … final byte, or ESC O x.
      if (chunk[i + 1] === '[') {
        i += 2
        while (i < chunk.length && !/[@-~]/.test(chunk[i]!)) i++
      } else if (chunk[i + 1] === 'O') i += 2
      continue
    }
    if (c === '\r' || c === '\n') {
      submitted.push(line)
      line = ''
    } else if (c === '\x7f' || c === '\b') line = Array.from(line).slice(0, -1).join('')
    else if (c === '\x15') line = ''
    else if (c === '\x03' || (c === '\x04' && line === '')) {
      quit = true
      break
    } else if (code >= 0x20) line += c
  }
  return { line, submitted, quit }
}
