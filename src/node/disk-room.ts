import { statfsSync } from 'node:fs'
import type { Logger } from '../logging.js'

/**
 * Free space a node keeps on its data directory's file system: operations
 * received from peers are refused below it. Any member can announce files
 * (up to 64 GiB each, as many as it likes) that every member fetches
 * without asking, a keeper takes what its quota allows, and a contact's
 * invitation log takes what the contact writes: without a floor, one peer
 * could fill the disk, and the database's next write of our own would fail.
 * Refused operations are not lost: the sender holds them back until we ask
 * again (docs/sync-protocol.md, `refused`), which we do when room comes back.
 */
export const RECEIVE_DISK_FLOOR_BYTES = 1024 ** 3

/** How long one look at the file system's free space is trusted: a per-frame statfs would cost more than the frame. */
const LOOK_MS = 1_000

/** Free bytes for an unprivileged user on the file system holding `path`. */
export type FreeSpace = (path: string) => number

const freeSpace: FreeSpace = (path) => {
  const stats = statfsSync(path)
  return stats.bavail * stats.bsize
}

/** Whether received operations still fit above {@link RECEIVE_DISK_FLOOR_BYTES}. */
export class DiskRoom {
  #free = 0
  #lookedAt = -Infinity
  #full = false

  /**
   * @param onRoom - called once when room comes back after refusals: the
   *   senders hold back what we refused until we ask again
   */
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly onRoom: () => void,
    private readonly options: { floorBytes?: number; free?: FreeSpace; now?: () => number } = {},
  ) {}

  /** Whether the last look at the disk found it below the floor (nothing received is stored until the next look finds room). */
  get full(): boolean {
    return this.#full
  }

  /** Whether `bytes` more can be stored without going below the floor. */
  hasRoomFor(bytes: number): boolean {
    const floor = this.options.floorBytes ?? RECEIVE_DISK_FLOOR_BYTES
    const now = (this.options.now ?? Date.now)()
    if (now - this.#lookedAt >= LOOK_MS) {
      try {
        this.#free = (this.options.free ?? freeSpace)(this.dir)
      } catch {
        // Unknown (a file system without statfs): do not refuse on a guess.
        this.#free = Number.POSITIVE_INFINITY
      }
      this.#lookedAt = now
      // Full and room again are decided once per look, so a peer cannot make the state (and its log lines) flip per operation.
      const full = this.#free < floor
      if (full !== this.#full) {
        this.#full = full
        if (full) this.logger.warn({ freeBytes: this.#free, floorBytes: floor }, 'disk nearly full: refusing what peers send until space is freed')
        else {
          this.logger.info('disk space freed: taking what peers send again')
          this.onRoom()
        }
      }
    }
    if (this.#full || this.#free - bytes < floor) return false
    this.#free -= bytes
    return true
  }
}
