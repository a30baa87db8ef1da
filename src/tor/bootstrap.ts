import type { TorControl } from './control/index.js'
import { parseKeyValues, type StatusClientEvent } from './control/index.js'
import { TorError } from './errors.js'
import { AbortError, TimeoutError } from '../errors.js'

/** One step of tor's bootstrap, as reported by `STATUS_CLIENT BOOTSTRAP`. */
export interface BootstrapProgress {
  /** 0–100. */
  progress: number
  /** Tor's machine-readable phase name, e.g. `conn_done`, `done`. */
  tag: string
  /** Tor's human-readable summary of the phase. */
  summary: string
}

/** Bounds on how long a bootstrap may take. */
export interface BootstrapLimits {
  /** The watchdog: fail when progress has not moved for this long. */
  stallMs: number
  /** Fail when not ready after this long, even if it is still moving. */
  timeoutMs: number
}

/**
 * Reads GETINFO `status/bootstrap-phase`, the same text as a BOOTSTRAP event:
 *
 * ```
 * NOTICE BOOTSTRAP PROGRESS=75 TAG=enough_dirinfo SUMMARY="Loaded enough directory info to build circuits"
 * ```
 */
function parsePhase(text: string): BootstrapProgress {
  const args = parseKeyValues(text)
  return { progress: Number(args.PROGRESS ?? 0), tag: args.TAG ?? '', summary: args.SUMMARY ?? '' }
}

/**
 * Waits until tor is ready to use: bootstrap at 100 % *and* a circuit
 * established. Progress comes from `STATUS_CLIENT` events (the caller has
 * subscribed to them), seeded by one GETINFO because events sent before the
 * subscription are lost. A watchdog rejects with `TOR_BOOTSTRAP_STALLED`
 * when progress stops moving.
 */
export function waitForBootstrap(
  control: TorControl,
  limits: BootstrapLimits,
  onProgress: (p: BootstrapProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let current: BootstrapProgress = { progress: -1, tag: '', summary: '' }
    let circuitEstablished = false
    let settled = false
    let stallTimer: NodeJS.Timeout | undefined
    const overallTimer = setTimeout(() => finish(new TimeoutError('tor bootstrap', limits.timeoutMs)), limits.timeoutMs)

    const armWatchdog = (): void => {
      clearTimeout(stallTimer)
      stallTimer = setTimeout(() => finish(new TorError('TOR_BOOTSTRAP_STALLED', `tor bootstrap stalled at ${Math.max(0, current.progress)} % (no progress for ${limits.stallMs} ms)`)), limits.stallMs)
    }
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(stallTimer)
      clearTimeout(overallTimer)
      control.off('STATUS_CLIENT', onStatus)
      control.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve()
    }
    const checkReady = (): void => {
      if (current.progress === 100 && circuitEstablished) finish()
    }
    const advance = (p: BootstrapProgress): void => {
      if (p.progress === current.progress && p.tag === current.tag) return
      current = p
      armWatchdog()
      onProgress(p)
      if (p.progress === 100 && !circuitEstablished) {
        // CIRCUIT_ESTABLISHED may have fired before we subscribed: ask once.
        control
          .getInfo(['status/circuit-established'])
          .then((info) => {
            if (info['status/circuit-established'] === '1') circuitEstablished = true
            checkReady()
          })
          .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))))
      }
      checkReady()
    }
    const onStatus = (ev: StatusClientEvent): void => {
      if (ev.action === 'BOOTSTRAP') {
        advance({ progress: Number(ev.args.PROGRESS ?? 0), tag: ev.args.TAG ?? '', summary: ev.args.SUMMARY ?? '' })
      } else if (ev.action === 'CIRCUIT_ESTABLISHED') {
        circuitEstablished = true
        checkReady()
      } else if (ev.action === 'CIRCUIT_NOT_ESTABLISHED') {
        circuitEstablished = false
      }
    }
    const onClose = (err?: Error): void => finish(err ?? new Error('tor control connection closed during bootstrap'))
    const onAbort = (): void => finish(new AbortError('tor bootstrap'))

    if (signal?.aborted) return finish(new AbortError('tor bootstrap'))
    signal?.addEventListener('abort', onAbort, { once: true })
    control.on('STATUS_CLIENT', onStatus)
    control.on('close', onClose)
    armWatchdog()
    control
      .getInfo(['status/bootstrap-phase', 'status/circuit-established'])
      .then((info) => {
        if (info['status/circuit-established'] === '1') circuitEstablished = true
        const phase = info['status/bootstrap-phase']
        if (phase !== undefined) advance(parsePhase(phase))
      })
      .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))))
  })
}
