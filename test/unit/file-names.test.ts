import { describe, expect, it } from 'vitest'
import { mediaTypeOf, safeFileName } from '../../src/node/index.js'

describe('safe names for received files', () => {
  it('keeps one plain, visible name whatever the sender chose', () => {
    const cases: [string, string][] = [
      ['photo.jpg', 'photo.jpg'],
      ['../../.bashrc', 'bashrc'],
      ['/etc/passwd', 'passwd'],
      ['..\\..\\windows\\system.ini', 'system.ini'],
      ['a/b/', 'b'],
      ['..', 'file'],
      ['.', 'file'],
      ['', 'file'],
      ['/', 'file'],
      ['...hidden', 'hidden'],
      ['trailing. . ', 'trailing'],
      ['nul\u0000byte', 'nul_byte'],
      ['esc\u001b[31mred', 'esc_[31mred'],
      ['new\nline\ttab', 'new_line_tab'],
      ['right\u202etxt.exe', 'right_txt.exe'],
      ['\u0085c1', '_c1'],
      ['CON', '_CON'],
      ['lpt1.txt', '_lpt1.txt'],
      ['console.txt', 'console.txt'],
      ['e\u0301t\u00e9.txt', '\u00e9t\u00e9.txt'],
    ]
    for (const [name, safe] of cases) expect(safeFileName(name), JSON.stringify(name)).toBe(safe)
  })

  it('cuts long names to 255 bytes of UTF-8, keeping a short extension and whole characters', () => {
    const long = `${'é'.repeat(300)}.tar.gz`
    const safe = safeFileName(long)
    expect(Buffer.byteLength(safe, 'utf8')).toBeLessThanOrEqual(255)
    expect(safe.endsWith('.gz')).toBe(true)
    expect(safe).not.toContain('\ufffd')
    expect(Buffer.byteLength(safeFileName('x'.repeat(1000)), 'utf8')).toBe(255)
  })

  it('guesses common media types from the extension only', () => {
    expect(mediaTypeOf('a.JPG')).toBe('image/jpeg')
    expect(mediaTypeOf('notes.txt')).toBe('text/plain')
    expect(mediaTypeOf('no-extension')).toBe('application/octet-stream')
    expect(mediaTypeOf('x.unknown')).toBe('application/octet-stream')
  })
})
