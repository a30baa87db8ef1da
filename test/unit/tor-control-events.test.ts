import { describe, expect, it } from 'vitest'
import { parseEvent, ReplyParser, type ControlReply, type TorEvent } from '../../src/tor/control/index.js'

const SERVICE_ID = 'z3eg73s63ledjjmmma2wceunr7cefwy2lvznwsuqvnuqg5foduzaefid'
const HSDIR = '$0A1B2C3D4E5F60718293A4B5C6D7E8F901234567~relay1'

function event(wire: string): TorEvent {
  const replies = new ReplyParser().push(wire)
  expect(replies).toHaveLength(1)
  return parseEvent(replies[0] as ControlReply)
}

describe('parseEvent', () => {
  it('STATUS_CLIENT BOOTSTRAP with a quoted summary', () => {
    expect(event('650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=85 TAG=ap_conn_done SUMMARY="Connecting to a relay to build circuits"\r\n')).toEqual({
      type: 'STATUS_CLIENT',
      severity: 'NOTICE',
      action: 'BOOTSTRAP',
      args: { PROGRESS: '85', TAG: 'ap_conn_done', SUMMARY: 'Connecting to a relay to build circuits' },
    })
  })

  it('STATUS_CLIENT CIRCUIT_ESTABLISHED without arguments', () => {
    expect(event('650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n')).toEqual({
      type: 'STATUS_CLIENT',
      severity: 'NOTICE',
      action: 'CIRCUIT_ESTABLISHED',
      args: {},
    })
  })

  it('STATUS_CLIENT WARN with escaped quotes', () => {
    const ev = event('650 STATUS_CLIENT WARN BOOTSTRAP PROGRESS=5 TAG=conn WARNING="said \\"no\\"" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=warn\r\n')
    expect(ev).toMatchObject({ severity: 'WARN', args: { WARNING: 'said "no"', REASON: 'CONNECTREFUSED', COUNT: '3' } })
  })

  it('HS_DESC UPLOAD with descriptor id and HSDIR_INDEX', () => {
    const blinded = 'aGVsbG8gd29ybGQgdGhpcyBpcyBhIGJsaW5kZWQga2V5'
    expect(event(`650 HS_DESC UPLOAD ${SERVICE_ID} UNKNOWN ${HSDIR} ${blinded} HSDIR_INDEX=04A1\r\n`)).toEqual({
      type: 'HS_DESC',
      action: 'UPLOAD',
      address: SERVICE_ID,
      authType: 'UNKNOWN',
      hsDir: HSDIR,
      descriptorId: blinded,
      args: { HSDIR_INDEX: '04A1' },
    })
  })

  it('HS_DESC descriptor id that looks like KEY=VALUE stays the descriptor id', () => {
    const blinded = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ='
    const ev = event(`650 HS_DESC UPLOAD ${SERVICE_ID} UNKNOWN ${HSDIR} ${blinded} HSDIR_INDEX=04A1\r\n`)
    expect(ev).toMatchObject({ descriptorId: blinded, args: { HSDIR_INDEX: '04A1' } })
  })

  it('HS_DESC UPLOADED without descriptor id', () => {
    expect(event(`650 HS_DESC UPLOADED ${SERVICE_ID} UNKNOWN ${HSDIR}\r\n`)).toEqual({
      type: 'HS_DESC',
      action: 'UPLOADED',
      address: SERVICE_ID,
      authType: 'UNKNOWN',
      hsDir: HSDIR,
      args: {},
    })
  })

  it('HS_DESC FAILED with REASON, with and without descriptor id', () => {
    expect(event(`650 HS_DESC FAILED ${SERVICE_ID} NO_AUTH ${HSDIR} descid123 REASON=NOT_FOUND\r\n`)).toMatchObject({
      action: 'FAILED',
      authType: 'NO_AUTH',
      descriptorId: 'descid123',
      reason: 'NOT_FOUND',
      args: { REASON: 'NOT_FOUND' },
    })
    const upload = event(`650 HS_DESC FAILED ${SERVICE_ID} UNKNOWN ${HSDIR} REASON=UPLOAD_REJECTED\r\n`)
    expect(upload).toMatchObject({ action: 'FAILED', reason: 'UPLOAD_REJECTED' })
    expect('descriptorId' in upload).toBe(false)
  })

  it('CIRC with path and keyword arguments', () => {
    expect(
      event(
        '650 CIRC 42 BUILT $AAAA~guard,$BBBB=middle,$CCCC~hsdir BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_SERVICE_REND HS_STATE=HSSR_JOINED REND_QUERY=' +
          SERVICE_ID +
          ' TIME_CREATED=2026-11-01T10:00:00.123456\r\n',
      ),
    ).toEqual({
      type: 'CIRC',
      circuitId: '42',
      status: 'BUILT',
      path: ['$AAAA~guard', '$BBBB=middle', '$CCCC~hsdir'],
      args: {
        BUILD_FLAGS: 'IS_INTERNAL,NEED_CAPACITY',
        PURPOSE: 'HS_SERVICE_REND',
        HS_STATE: 'HSSR_JOINED',
        REND_QUERY: SERVICE_ID,
        TIME_CREATED: '2026-11-01T10:00:00.123456',
      },
    })
  })

  it('CIRC LAUNCHED without a path, and CLOSED with REASON', () => {
    expect(event('650 CIRC 3 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL\r\n')).toMatchObject({
      circuitId: '3',
      status: 'LAUNCHED',
      path: [],
      args: { BUILD_FLAGS: 'NEED_CAPACITY', PURPOSE: 'GENERAL' },
    })
    expect(event('650 CIRC 3 CLOSED $AAAA~guard REASON=FINISHED\r\n')).toMatchObject({ path: ['$AAAA~guard'], args: { REASON: 'FINISHED' } })
  })

  it('a typed event in multi-line form', () => {
    expect(event('650-STATUS_CLIENT NOTICE BOOTSTRAP\r\n650-PROGRESS=100 TAG=done\r\n650 OK\r\n')).toEqual({
      type: 'STATUS_CLIENT',
      severity: 'NOTICE',
      action: 'BOOTSTRAP',
      args: { PROGRESS: '100', TAG: 'done' },
    })
  })

  it('unknown events stay raw, including multi-line and data-block forms', () => {
    expect(event('650 STREAM 9 NEW 0 example.onion:80 SOURCE_ADDR=127.0.0.1:5000\r\n')).toMatchObject({
      type: 'STREAM',
      raw: 'STREAM 9 NEW 0 example.onion:80 SOURCE_ADDR=127.0.0.1:5000',
    })
    const conf = event('650-CONF_CHANGED\r\n650-SocksPort=9050\r\n650 OK\r\n')
    expect(conf).toMatchObject({ type: 'CONF_CHANGED', raw: 'CONF_CHANGED\nSocksPort=9050\nOK' })
    const ns = event('650+NS\r\nr relay1 AAAA\r\n.\r\n650 OK\r\n')
    expect(ns.type).toBe('NS')
    expect('lines' in ns && ns.lines[0]?.data).toBe('r relay1 AAAA')
  })

  it('malformed known events fall back to raw instead of throwing', () => {
    for (const wire of [
      '650 STATUS_CLIENT NOTICE\r\n',
      '650 HS_DESC UPLOAD onlytwo\r\n',
      '650 CIRC\r\n',
      '650 STATUS_CLIENT NOTICE BOOTSTRAP SUMMARY="unterminated\r\n',
    ]) {
      const ev = event(wire)
      expect('raw' in ev).toBe(true)
      expect(ev.type).toBe(wire.slice(4).trim().split(' ')[0])
    }
  })
})
