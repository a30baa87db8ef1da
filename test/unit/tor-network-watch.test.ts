import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NetworkWatch, TorControl } from '../../src/tor/index.js'
import { FakeTor } from '../helpers/fake-tor-control.js'

const OFFLINE_AFTER_MS = 300
const STALLED_AFTER_MS = 400

/** A control connection to a fake tor, and a way to send it events as tor would. */
async function watched(options: { now?: () => number } = {}): Promise<{ watch: NetworkWatch; emit: (line: string) => void; events: string[]; close: () => Promise<void> }> {
  const fake = await FakeTor.start()
  const connected = new Promise<Socket>((resolve) => (fake.onConnection = resolve))
  const control = await TorControl.connect({ host: '127.0.0.1', port: fake.port })
  const conn = await connected
  const watch = new NetworkWatch(control, { offlineAfterMs: OFFLINE_AFTER_MS, stalledAfterMs: STALLED_AFTER_MS, ...options })
  const events: string[] = []
  watch.on('offline', ({ reason }) => events.push(reason === 'failing' ? 'offline' : `offline (${reason})`))
  watch.on('online', ({ offlineMs }) => events.push(`online after ${offlineMs >= OFFLINE_AFTER_MS ? 'the outage' : `${offlineMs} ms`}`))
  return {
    watch,
    events,
    emit: (line) => conn.write(`650 ${line}\r\n`),
    close: async () => {
      watch.close()
      await control.close()
      await fake.close()
    },
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const FP = '$82C40A0C314EBD9DA156870A8E9EE7A620338E08~relay3'

describe('NetworkWatch', () => {
  let close: (() => Promise<void>) | undefined
  afterEach(async () => {
    await close?.()
    close = undefined
  })

  it('goes offline after repeated failures with no success, and online at the next built circuit', async () => {
    const w = await watched()
    close = w.close
    // What tor sent while the live profile's emulator dropped its links (docs/testnet.md).
    w.emit(`ORCONN ${FP} CLOSED REASON=CONNECTRESET ID=11`)
    w.emit(`ORCONN ${FP} LAUNCHED ID=12`)
    w.emit(`ORCONN ${FP} FAILED REASON=CONNECTRESET ID=12`)
    w.emit(`CIRC 7 FAILED ${FP} PURPOSE=HS_SERVICE_INTRO REASON=TIMEOUT`)
    await pause(OFFLINE_AFTER_MS / 2)
    expect(w.events).toEqual([])
    expect(w.watch.offline).toBe(false)
    await pause(OFFLINE_AFTER_MS)
    expect(w.events).toEqual(['offline'])
    expect(w.watch.offline).toBe(true)
    w.emit(`CIRC 8 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL`)
    w.emit(`CIRC 8 BUILT ${FP} PURPOSE=GENERAL`)
    await pause(50)
    expect(w.events).toEqual(['offline', 'online after the outage'])
    expect(w.watch.offline).toBe(false)
  })

  it('does not go offline when a success follows the failures in time', async () => {
    const w = await watched()
    close = w.close
    for (let i = 0; i < 5; i++) w.emit(`CIRC ${i} FAILED ${FP} PURPOSE=GENERAL REASON=TIMEOUT`)
    await pause(OFFLINE_AFTER_MS / 3)
    w.emit(`ORCONN ${FP} CONNECTED ID=58`)
    await pause(OFFLINE_AFTER_MS * 1.5)
    expect(w.events).toEqual([])
  })

  it('takes neither idle closes nor a lone failure for an outage', async () => {
    const w = await watched()
    close = w.close
    w.emit(`ORCONN ${FP} CLOSED REASON=DONE ID=3`)
    w.emit(`ORCONN ${FP} CLOSED REASON=DONE ID=4`)
    w.emit(`ORCONN ${FP} CLOSED REASON=DONE ID=5`)
    w.emit(`CIRC 9 FAILED ${FP} PURPOSE=GENERAL REASON=TIMEOUT`)
    await pause(OFFLINE_AFTER_MS * 1.5)
    expect(w.events).toEqual([])
  })

  it('does not count a failure from before a long pause with new ones', async () => {
    let now = 1_000_000
    const w = await watched({ now: () => now })
    close = w.close
    w.emit(`CIRC 1 FAILED ${FP} PURPOSE=GENERAL REASON=TIMEOUT`)
    await pause(50)
    // A sleep: the clock jumps, then two more failures come at once.
    now += 300_000
    w.emit(`CIRC 2 FAILED ${FP} PURPOSE=GENERAL REASON=TIMEOUT`)
    w.emit(`CIRC 3 FAILED ${FP} PURPOSE=GENERAL REASON=TIMEOUT`)
    await pause(OFFLINE_AFTER_MS / 3)
    expect(w.events).toEqual([])
  })

  it('goes offline when a circuit under construction gets no answer and nothing else progresses (relays frozen), and online at the next hop', async () => {
    const w = await watched()
    close = w.close
    // What a client tor sent with every relay frozen (docs/testnet.md): launches, and nothing for the build timeout.
    w.emit('CIRC 18 LAUNCHED BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY,NEED_UPTIME PURPOSE=HS_VANGUARDS')
    w.emit(`ORCONN ${FP} LAUNCHED ID=43`)
    await pause(STALLED_AFTER_MS / 2)
    w.emit('CIRC 19 LAUNCHED BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY,NEED_UPTIME PURPOSE=HS_VANGUARDS')
    expect(w.events).toEqual([])
    await pause(STALLED_AFTER_MS * 0.75)
    expect(w.events).toEqual(['offline (stalled)'])
    expect(w.watch.offline).toBe(true)
    w.emit(`CIRC 19 EXTENDED ${FP} PURPOSE=HS_VANGUARDS`)
    await pause(50)
    expect(w.events).toEqual(['offline (stalled)', 'online after the outage'])
    expect(w.watch.offline).toBe(false)
  })

  it('does not take a built circuit given a new purpose for progress', async () => {
    const w = await watched()
    close = w.close
    w.emit('CIRC 18 LAUNCHED BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_VANGUARDS')
    await pause(STALLED_AFTER_MS / 2)
    // A circuit built before (never seen launched) taken for a rendezvous: tor says BUILT again.
    w.emit(`CIRC 3 BUILT ${FP} PURPOSE=HS_CLIENT_REND HS_STATE=HSCR_CONNECTING`)
    await pause(STALLED_AFTER_MS * 0.75)
    expect(w.events).toEqual(['offline (stalled)'])
  })

  it('does not take a slow circuit for an outage while others progress, nor one that ended', async () => {
    const w = await watched()
    close = w.close
    w.emit('CIRC 1 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL')
    w.emit('CIRC 2 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL')
    await pause(STALLED_AFTER_MS * 0.6)
    w.emit(`CIRC 2 EXTENDED ${FP} PURPOSE=GENERAL`)
    await pause(STALLED_AFTER_MS * 0.6)
    expect(w.events).toEqual([])
    w.emit(`CIRC 1 CLOSED ${FP} PURPOSE=GENERAL REASON=FINISHED`)
    w.emit(`CIRC 2 BUILT ${FP} PURPOSE=GENERAL`)
    await pause(STALLED_AFTER_MS * 1.2)
    expect(w.events).toEqual([])
  })

  it('does not count the time the process was frozen as a stall', async () => {
    let skew = 0
    const w = await watched({ now: () => Date.now() + skew })
    close = w.close
    w.emit('CIRC 1 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL')
    await pause(50)
    // A sleep of 5 minutes; tor's first event after the wake arrives before the watch's timer runs.
    skew += 300_000
    w.emit('CIRC 2 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL')
    await pause(STALLED_AFTER_MS / 2)
    expect(w.events).toEqual([])
    w.emit(`CIRC 2 EXTENDED ${FP} PURPOSE=GENERAL`)
    await pause(STALLED_AFTER_MS * 0.75)
    expect(w.events).toEqual([])
  })

  it('keeps watching the circuits still under construction after coming online', async () => {
    const w = await watched()
    close = w.close
    w.emit('CIRC 1 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL')
    await pause(STALLED_AFTER_MS * 1.2)
    w.emit(`CIRC 2 EXTENDED ${FP} PURPOSE=GENERAL`)
    await pause(STALLED_AFTER_MS * 1.3)
    // Circuit 1 never got an answer, and nothing moved after circuit 2's hop.
    expect(w.events).toEqual(['offline (stalled)', 'online after the outage', 'offline (stalled)'])
  })
})
