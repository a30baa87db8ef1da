import { MAX_SEND_BYTES, READ_MAX_LIMIT, type ApiEvent, type LocalApiClient, type MessageJson } from '../api/index.js'
import { connect, messageBody, type Run } from './api-commands.js'
import { resolve } from 'node:path'
import { ChatPresence, ChatTransfers, HERE_EVERY_MS, TYPING_EVERY_MS, chatSignalText, editInput, parseChatSignal, statusLine, type ChatSignal } from './chat-state.js'
import { CliError, EXIT } from './errors.js'
import { fileEntry, formatBytes } from './file-commands.js'
import { printableLine, shortId } from './format.js'
import type { FileProgressJson } from '../api/index.js'
import type { CliIo } from './io.js'

/** `burrow chat`, by command path. */
export const CHAT_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = { chat: (run, io) => chat(run, io) }

/** Messages of the backlog shown when the chat opens. */
const BACKLOG = 20
/** How often the status line is redrawn, so that typing, presence and finished transfers expire on screen. */
const REDRAW_MS = 1_000
/** Message ids remembered to show each message once (backlog, live events and our own sends overlap); the oldest are forgotten first. */
const SHOWN_IDS = 1_000

const HELP = [
  'Enter sends a message to the group; Ctrl-U clears the line; /quit or Ctrl-C leaves.',
  '/send PATH sends a file; /files lists the group\'s files; /get FILE [PATH] [--force] saves one (FILE: its id or name; PATH: a folder or file, default here; --force replaces a file there).',
]

const ESC = '\x1b['

function clock(ms: number): string {
  const d = new Date(ms)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

function messageText(m: MessageJson): string {
  const who = m.self ? 'you' : printableLine(m.authorName ?? shortId(m.authorPeerId))
  return `${clock(m.receivedAt)} ${who}: ${messageBody(m)}`
}

/**
 * The terminal: messages scroll in a region above, the status line and the
 * input line stay at the bottom (DECSTBM scroll region, so no screen library
 * is needed and the terminal's own scrollback keeps working).
 */
class ChatScreen {
  #rows = 24
  #columns = 80
  status = ''
  input = ''

  constructor(readonly out: CliIo['stdout']) {}

  open(title: string): void {
    this.#measure()
    this.out.write(`${ESC}2J${ESC}1;${this.#rows - 2}r${ESC}${this.#rows - 2};1H`)
    this.print(`${title} (Enter sends, /quit or Ctrl-C leaves)`)
  }

  /** Adds a line to the scrolling region, then redraws the bottom two lines. */
  print(line: string): void {
    this.out.write(`${ESC}${this.#rows - 2};1H\n${line}`)
    this.draw()
  }

  draw(): void {
    const width = Math.max(10, this.#columns - 1)
    const input = Array.from(this.input)
    const shown = input.length > width - 2 ? input.slice(input.length - (width - 2)).join('') : this.input
    this.out.write(`${ESC}${this.#rows - 1};1H${ESC}2K${ESC}7m${this.status.slice(0, width).padEnd(width)}${ESC}0m${ESC}${this.#rows};1H${ESC}2K> ${shown}`)
  }

  resize(): void {
    this.#measure()
    this.out.write(`${ESC}1;${this.#rows - 2}r`)
    this.draw()
  }

  close(): void {
    this.out.write(`${ESC}r${ESC}${this.#rows};1H${ESC}2K\n`)
  }

  #measure(): void {
    const o = this.out as { rows?: number; columns?: number }
    this.#rows = Math.max(5, o.rows ?? 24)
    this.#columns = o.columns ?? 80
  }
}

/**
 * `/send PATH`, `/files`, `/get FILE [PATH]`: the group's files from the
 * chat, through the same local API calls as `burrow send --file`, `files`
 * and `get`. Progress shows in the status line (file:progress events); the
 * input stays live while a transfer runs.
 */
async function fileCommand(api: LocalApiClient, group: string, text: string, screen: ChatScreen): Promise<void> {
  const [command, ...rest] = text.split(/\s+/)
  const force = rest.includes('--force')
  const args = rest.filter((a) => a !== '--force')
  try {
    if (command === '/send' && rest.length > 0) {
      // A path may hold spaces: everything after the command.
      const m = await api.call('file.send', { group, path: resolve(text.slice(command.length).trim()) })
      screen.print(printableLine(`sent ${m.file?.name ?? 'the file'} (${formatBytes(m.file?.size ?? 0)}); members fetch it when they sync`))
    } else if (command === '/files' && rest.length === 0) {
      const { files } = await api.call('file.list', { group })
      if (files.length === 0) screen.print('no files in this group yet; send one with /send PATH')
      for (const f of files) screen.print(fileEntry(f))
    } else if (command === '/get' && (args.length === 1 || args.length === 2)) {
      const saved = await api.call('file.save', { group, file: args[0]!, out: resolve(args[1] ?? '.'), force })
      screen.print(printableLine(`saved ${saved.file.name} (${formatBytes(saved.file.size)}, SHA-256 checked) to ${saved.path}`))
    } else screen.print(printableLine(`unknown command ${text.slice(0, 40)}; /help lists them`))
  } catch (err) {
    screen.print(printableLine(`${command?.slice(1)} failed: ${(err as Error).message}`))
  }
}

/**
 * `burrow chat <group>`: a terminal chat on the local API. Messages are the
 * group's ordinary messages (stored and replicated like `burrow send`);
 * presence and typing travel as ephemeral messages (chat-state.ts), which
 * only members connected at that moment see and nobody stores.
 */
export async function chat(run: Run, io: CliIo): Promise<number> {
  if (run.globals.json) throw new CliError('CLI_USAGE', '`burrow chat` has no --json form; scripts use `burrow read --follow --json` and `burrow send`')
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true || io.stdin.setRawMode === undefined) {
    throw new CliError('CLI_USAGE', '`burrow chat` needs a terminal; in scripts use `burrow read --follow` and `burrow send`')
  }
  const api = await connect(run)
  const group = run.args[0]!
  try {
    return await chatSession(api, group, io)
  } finally {
    await api.close()
  }
}

async function chatSession(api: LocalApiClient, groupWhat: string, io: CliIo): Promise<number> {
  const { group: groupId, members } = await api.call('group.members', { group: groupWhat })
  const group = (await api.call('group.list', {})).groups.find((g) => g.id === groupId)
  const memberPeers = new Set(members.filter((m) => !m.self).map((m) => m.peerId))
  const connected = new Set((await api.call('peers.list', {})).peers.filter((p) => p.connected && memberPeers.has(p.peerId)).map((p) => p.peerId))
  const presence = new ChatPresence()
  const names = new Map(members.map((m) => [m.peerId, printableLine(m.name ?? shortId(m.peerId))]))
  const transfers = new ChatTransfers((peerId) => names.get(peerId) ?? shortId(peerId))
  const screen = new ChatScreen(io.stdout)
  const shown = new Set<number>()

  let finish!: (code: number) => void
  const ended = new Promise<number>((resolve) => (finish = resolve))
  let done = false
  const end = (code: number): void => {
    if (done) return
    done = true
    finish(code)
  }

  const refresh = (): void => {
    screen.status = statusLine(presence.at(Date.now()), connected.size, transfers.at(Date.now()))
    screen.draw()
  }
  const show = (m: MessageJson): void => {
    if (shown.has(m.id)) return
    shown.add(m.id)
    if (shown.size > SHOWN_IDS) shown.delete(shown.values().next().value!)
    if (!m.self) presence.messageFrom(m.authorPeerId)
    screen.print(messageText(m))
  }
  const signal = (s: ChatSignal): void => {
    void api.call('group.ephemeral', { group: groupWhat, text: chatSignalText(s) }).catch(() => {})
  }

  // Subscribe before reading the backlog and hold live messages until it is shown, so none falls in between.
  let held: MessageJson[] | undefined = []
  await api.subscribe(
    ['group:message', 'group:ephemeral', 'file:progress', 'peer:connected', 'peer:disconnected'],
    (e: ApiEvent) => {
      if (e.event === 'group:message') {
        const m = e.data as MessageJson
        if (held !== undefined) held.push(m)
        else show(m)
      } else if (e.event === 'group:ephemeral') {
        const d = e.data as { peerId: string; name?: string; text?: string }
        const s = parseChatSignal(d.text)
        if (s !== undefined && presence.apply(d.peerId, printableLine(d.name ?? shortId(d.peerId)), s, Date.now())) signal({ kind: 'here' })
        refresh()
      } else if (e.event === 'file:progress') {
        const p = e.data as FileProgressJson
        // The name is the sender's choice: made printable and cut short before it reaches the terminal.
        transfers.apply({ ...p, name: printableLine(p.name).slice(0, 40) }, Date.now())
        refresh()
      } else {
        const { peerId } = e.data as { peerId: string }
        if (!memberPeers.has(peerId)) return
        if (e.event === 'peer:connected') connected.add(peerId)
        else connected.delete(peerId)
        refresh()
      }
    },
    { group: groupWhat },
  )
  api.onClose((err) => {
    if (done) return
    screen.print(printableLine(`the node went away: ${err.message}`))
    end(EXIT.FAILURE)
  })

  const backlog: MessageJson[] = []
  for (let afterId = 0; ; ) {
    const page = await api.call('read', { group: groupWhat, afterId, limit: READ_MAX_LIMIT })
    backlog.push(...page.messages)
    backlog.splice(0, Math.max(0, backlog.length - BACKLOG))
    if (page.messages.length === 0 || (page.messages.length < READ_MAX_LIMIT && !page.more)) break
    afterId = page.messages.at(-1)!.id
  }
  screen.open(`burrow chat: ${printableLine(group?.name ?? groupWhat)}, ${members.length} member${members.length === 1 ? '' : 's'}`)
  backlog.forEach(show)
  held.forEach(show)
  held = undefined
  refresh()

  signal({ kind: 'here' })
  const hereTimer = setInterval(() => signal({ kind: 'here' }), HERE_EVERY_MS)
  const redrawTimer = setInterval(refresh, REDRAW_MS)
  let lastTyping = 0
  const onResize = (): void => screen.resize()
  const out = io.stdout as NodeJS.WriteStream
  out.on?.('resize', onResize)

  const submit = async (line: string): Promise<void> => {
    const text = line.trim()
    if (text === '') return
    if (text === '/quit' || text === '/exit') return end(EXIT.OK)
    if (text === '/help') return HELP.forEach((line) => screen.print(line))
    if (text.startsWith('/')) return fileCommand(api, groupWhat, text, screen)
    if (Buffer.byteLength(text) > MAX_SEND_BYTES) return screen.print(`not sent: a message holds at most ${MAX_SEND_BYTES} bytes`)
    try {
      show(await api.call('send', { group: groupWhat, text }))
    } catch (err) {
      screen.print(printableLine(`not sent: ${(err as Error).message}`))
    }
  }
  const onData = (chunk: Buffer | string): void => {
    const edit = editInput(screen.input, chunk.toString())
    screen.input = edit.line
    if (edit.quit) return end(EXIT.OK)
    for (const line of edit.submitted) void submit(line)
    if (edit.line !== '' && Date.now() - lastTyping >= TYPING_EVERY_MS) {
      lastTyping = Date.now()
      signal({ kind: 'typing' })
    }
    screen.draw()
  }
  io.stdin.setRawMode!(true)
  io.stdin.on('data', onData)
  io.stdin.resume()
  const onSignal = (): void => end(EXIT.OK)
  process.once('SIGTERM', onSignal)
  try {
    return await ended
  } finally {
    process.off('SIGTERM', onSignal)
    clearInterval(hereTimer)
    clearInterval(redrawTimer)
    out.off?.('resize', onResize)
    io.stdin.off('data', onData)
    io.stdin.setRawMode!(false)
    io.stdin.pause()
    await api.call('group.ephemeral', { group: groupWhat, text: chatSignalText({ kind: 'gone' }) }, { timeoutMs: 2_000 }).catch(() => {})
    screen.close()
  }
}
