/**
 * Names of received files on disk. A file's name is chosen by its sender,
 * who may be hostile: `../../.bashrc`, `/etc/passwd`, a name with NUL or
 * escape sequences, `..`, `CON`. {@link safeFileName} turns any of them into
 * one plain name inside the folder it is saved in: no separator, no control
 * or bidi character, not hidden, not reserved, at most 255 bytes.
 */

/** C0 and C1 controls, DEL, bidi overrides and isolates, and both path separators. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069/\\]/g

/** Names Windows reserves in any folder (harmless here, but the file may be copied there). */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i

const MAX_BYTES = 255
const FALLBACK = 'file'

/** Cuts `text` to at most `bytes` bytes of UTF-8 without splitting a character. */
function cutUtf8(text: string, bytes: number): string {
  let out = ''
  let used = 0
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8')
    if (used + size > bytes) break
    out += ch
    used += size
  }
  return out
}

/** A safe file name for a sender-chosen `name` (see the module's comment). */
export function safeFileName(name: string): string {
  // A path keeps only its last part: `../../.bashrc` is `.bashrc` (then not hidden: `bashrc`).
  const last = name.split(/[/\\]/).filter((part) => part !== '').at(-1) ?? ''
  let safe = last.normalize('NFC').replace(UNSAFE, '_')
  // Not hidden, and no trailing dots or spaces (which some systems drop, changing the name).
  safe = safe.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  if (safe === '') return FALLBACK
  if (RESERVED.test(safe)) safe = `_${safe}`
  if (Buffer.byteLength(safe, 'utf8') <= MAX_BYTES) return safe
  // Keep a short extension, so the file still opens with the right program.
  const dot = safe.lastIndexOf('.')
  const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : ''
  return cutUtf8(safe.slice(0, safe.length - extension.length), MAX_BYTES - Buffer.byteLength(extension, 'utf8')) + extension
}

const MEDIA_TYPES: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', json: 'application/json',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', opus: 'audio/opus', wav: 'audio/wav', mp4: 'video/mp4', webm: 'video/webm',
  odt: 'application/vnd.oasis.opendocument.text', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
}

/**
 * A media type for a file name, from its extension (a short table of common
 * ones); `application/octet-stream` otherwise. Informative only: a receiver
 * never acts on it.
 */
export function mediaTypeOf(name: string): string {
  const dot = name.lastIndexOf('.')
  return (dot >= 0 ? MEDIA_TYPES[name.slice(dot + 1).toLowerCase()] : undefined) ?? 'application/octet-stream'
}
