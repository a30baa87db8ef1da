import { describe, expect, it } from 'vitest'
import { ChatPresence, ChatTransfers, HERE_TTL_MS, TRANSFER_DONE_TTL_MS, TRANSFER_STALLED_TTL_MS, TYPING_TTL_MS, chatSignalText, editInput, parseChatSignal, statusLine } from '../../src/cli/chat-state.js'

describe('burrow chat: signals, presence and the input line', () => {
  it('reads only its own signals', () => {
    for (const kind of ['here', 'gone', 'typing'] as const) expect(parseChatSignal(chatSignalText({ kind }))).toEqual({ kind })
    for (const other of [undefined, '', 'hello', '{"burrowChat":2,"here":true}', '{"here":true}', 'null', '[1]', `{"burrowChat":1,"here":true,"x":"${'y'.repeat(300)}"}`]) {
      expect(parseChatSignal(other), String(other)).toBeUndefined()
    }
  })

  it('shows who is here and typing, and lets both expire', () => {
    const p = new ChatPresence()
    // A first signal is an arrival (the chat answers it with its own `here`); the next ones are not.
    expect(p.apply('b', 'bob', { kind: 'here' }, 0)).toBe(true)
    expect(p.apply('b', 'bob', { kind: 'here' }, 0)).toBe(false)
    expect(p.apply('c', 'carol', { kind: 'typing' }, 1_000)).toBe(true)
    expect(p.at(1_000)).toEqual({ here: ['bob', 'carol'], typing: ['carol'] })
    expect(p.at(1_000 + TYPING_TTL_MS + 1)).toEqual({ here: ['bob', 'carol'], typing: [] })
    p.apply('c', 'carol', { kind: 'typing' }, 2_000)
    p.messageFrom('c')
    expect(p.at(2_000).typing).toEqual([])
    expect(p.at(HERE_TTL_MS + 1).here).toEqual(['carol'])
    p.apply('c', 'carol', { kind: 'gone' }, 3_000)
    expect(p.at(3_000)).toEqual({ here: ['bob'], typing: [] })
    expect(statusLine({ here: ['bob'], typing: ['bob'] }, 2)).toBe('in the chat: bob · bob is typing… · 2 members connected')
    expect(statusLine({ here: [], typing: [] }, 1)).toBe('nobody else in the chat · 1 member connected')
  })

  it('shows file transfers newest first, and lets finished and stalled ones go', () => {
    const t = new ChatTransfers((peerId) => (peerId === 'b' ? 'bob' : peerId))
    const progress = { size: 1000, bytes: 0, totalChunks: 4 }
    t.apply({ ...progress, fileId: 'f1', name: 'photo.jpg', direction: 'receive', peerId: 'b', chunks: 1 }, 0)
    t.apply({ ...progress, fileId: 'f2', name: 'notes.txt', direction: 'send', chunks: 4 }, 100)
    expect(t.at(100)).toBe('↑ notes.txt 100%, ↓ photo.jpg 25%')
    t.apply({ ...progress, fileId: 'f1', name: 'photo.jpg', direction: 'receive', peerId: 'b', chunks: 3 }, 200)
    t.apply({ fileId: 'f3', name: 'stdin', direction: 'send', chunks: 2, totalChunks: null, bytes: 524288, size: null }, 300)
    expect(t.at(300)).toBe('↑ stdin 524288 bytes, ↓ photo.jpg 75%, +1 more')
    // Done: shown a few seconds more; stalled: dropped after a minute without progress.
    expect(t.at(100 + TRANSFER_DONE_TTL_MS + 1)).toBe('↑ stdin 524288 bytes, ↓ photo.jpg 75%')
    expect(t.at(300 + TRANSFER_STALLED_TTL_MS + 1)).toBe('')
    expect(statusLine({ here: [], typing: [] }, 1, '↓ photo.jpg 75%')).toBe('nobody else in the chat · 1 member connected · ↓ photo.jpg 75%')
  })

  it('shows our file handed to each peer by name, in place of its storing', () => {
    const t = new ChatTransfers((peerId) => (peerId === 'b' ? 'bob' : 'carol'))
    const progress = { fileId: 'f', name: 'a.pdf', direction: 'send' as const, size: 1000, bytes: 1000, totalChunks: 4 }
    t.apply({ ...progress, chunks: 4 }, 0)
    expect(t.at(0)).toBe('↑ a.pdf 100%')
    t.apply({ ...progress, peerId: 'b', chunks: 1 }, 1)
    t.apply({ ...progress, peerId: 'c', chunks: 2 }, 2)
    expect(t.at(2)).toBe('↑ a.pdf → carol 50%, ↑ a.pdf → bob 25%')
  })

  it('remembers a bounded number of transfers', () => {
    const t = new ChatTransfers((peerId) => peerId)
    for (let i = 0; i < 1000; i++) t.apply({ fileId: `f${i}`, name: `n${i}`, direction: 'receive', chunks: 0, totalChunks: 1, bytes: 0, size: 1 }, i)
    expect(t.at(1000)).toBe('↓ n999 0%, ↓ n998 0%, +30 more')
  })

  it('edits the input line from raw keystrokes', () => {
    expect(editInput('', 'héllo')).toEqual({ line: 'héllo', submitted: [], quit: false })
    expect(editInput('héllo', '\x7f\x7fp!\r')).toEqual({ line: '', submitted: ['hélp!'], quit: false })
    expect(editInput('', 'a\rb\rc')).toEqual({ line: 'c', submitted: ['a', 'b'], quit: false })
    expect(editInput('abc', '\x1b[D\x1b[1;5C\x1bOAd')).toEqual({ line: 'abcd', submitted: [], quit: false })
    expect(editInput('abc', '\x15x')).toEqual({ line: 'x', submitted: [], quit: false })
    expect(editInput('abc', '\x04').quit).toBe(false)
    expect(editInput('', '\x04').quit).toBe(true)
    expect(editInput('abc', 'd\x03e')).toEqual({ line: 'abcd', submitted: [], quit: true })
  })
})
