import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/node/config.js'

describe('config: attach', () => {
  it('requires cookieFile, saying why', () => {
    expect(() => validateConfig({ attach: { controlPort: 9051 } })).toThrow(/attach needs cookieFile.*SAFECOOKIE/)
    expect(() => validateConfig({ attach: { controlSocket: '/run/tor/control' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
  })

  it('accepts a control port or socket with a cookie file', () => {
    expect(validateConfig({ attach: { controlPort: 9051, cookieFile: '/run/tor/control.authcookie' } })).toEqual({
      attach: { controlPort: 9051, cookieFile: '/run/tor/control.authcookie' },
    })
    expect(validateConfig({ attach: { controlSocket: '/run/tor/control', cookieFile: '/c' } }).attach).toEqual({ controlSocket: '/run/tor/control', cookieFile: '/c' })
  })
})
