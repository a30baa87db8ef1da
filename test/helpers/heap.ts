import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap in use after a full garbage collection, in MiB: what is retained. */
export function retainedMiB(): number {
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}
