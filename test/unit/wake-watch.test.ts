import { describe, expect, it } from 'vitest'
import { WakeWatch } from '../../src/node/wake-watch.js'

/** A watch on hand-driven clocks; `advance` moves them and reads them as the timer would. */
function driven(): { wakes: number[]; advance: (wallMs: number, monotonicMs: number) => void } {
  let wall = 1_700_000_000_000
  let monotonic = 1_000
  const watch = new WakeWatch({ tickMs: 5_000, jumpMs: 20_000, clocks: { wall: () => wall, monotonic: () => monotonic } })
  const wakes: number[] = []
  watch.on('wake', ({ awayMs }) => wakes.push(awayMs))
  watch.start()
  watch.stop()
  return {
    wakes,
    advance: (w, m) => {
      wall += w
      monotonic += m
      watch.check()
    },
  }
}

describe('WakeWatch', () => {
  it('stays quiet while ticks come on time or a little late', () => {
    const w = driven()
    for (let i = 0; i < 10; i++) w.advance(5_000, 5_000)
    w.advance(19_000, 19_000)
    expect(w.wakes).toEqual([])
  })

  it('sees a suspend: the monotonic clock stood still while the wall clock jumped', () => {
    const w = driven()
    w.advance(3_605_000, 5_000)
    expect(w.wakes).toEqual([3_600_000])
  })

  it('sees SIGSTOP: both clocks moved on while no tick ran', () => {
    const w = driven()
    w.advance(300_000, 300_000)
    expect(w.wakes).toEqual([295_000])
    w.advance(5_000, 5_000)
    expect(w.wakes).toHaveLength(1)
  })

  it('ignores a wall clock set backwards', () => {
    const w = driven()
    w.advance(-3_600_000, 5_000)
    expect(w.wakes).toEqual([])
  })
})
