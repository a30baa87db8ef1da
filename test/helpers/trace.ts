/**
 * Opt-in tracing for chasing a slow or failing integration test on the
 * private network. With `BURROW_TEST_TRACE=FILE`, net stacks append their
 * dials, connections and sync sessions to FILE (pino JSON lines, one `stack`
 * field per node), tests can mark their own steps in it, and each stack's
 * tor writes millisecond-stamped circuit, channel, onion-service and
 * directory detail to `FILE.<stack>.tor.log`. Off by default: tor's info
 * logs run to megabytes per minute.
 */
import { appendFileSync } from 'node:fs'
import { pino, type Logger } from 'pino'

const traceFile = process.env.BURROW_TEST_TRACE

/** Whether this run traces. */
export const tracing = traceFile !== undefined && traceFile !== ''

/** A logger for stack `name` that appends to the trace file, or undefined when not tracing. */
export function traceLogger(name: string): Logger | undefined {
  if (!tracing) return undefined
  return pino({ level: 'debug', base: { stack: name } }, pino.destination({ dest: traceFile!, append: true, sync: true }))
}

/** Extra torrc lines for stack `name`'s tor (none when not tracing). */
export function traceTorrcLines(name: string): string[] {
  if (!tracing) return []
  return ['LogTimeGranularity 1', `Log notice file ${traceFile}.${name}.notice.log`, `Log [circ,edge,channel,or,rend,guard,dir]info file ${traceFile}.${name}.tor.log`]
}

/** Marks a step of the test itself in the trace file. */
export function traceMark(msg: string): void {
  if (tracing) appendFileSync(traceFile!, `${JSON.stringify({ time: Date.now(), stack: 'test', msg })}\n`)
}
