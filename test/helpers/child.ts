import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Runs `node <nodeArgs>` from the repository root, SIGKILLs it `delayMs`
 * after it printed a line "ready" (or, with `delayMs` = 'done', as soon as it
 * printed "done": a run that measures how long the work takes), and resolves
 * with the non-empty lines it printed. Rejects when it exits by itself or
 * never gets ready within `guardMs`. The PID is our own child's: nothing else
 * is signalled.
 */
export function runUntilKilled(nodeArgs: readonly string[], delayMs: number | 'done', guardMs = 60_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    const guard = setTimeout(() => child.kill('SIGKILL'), guardMs)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (killTimer !== undefined) return
      if (delayMs === 'done' ? /^done\b/m.test(out) : out.includes('ready\n')) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs === 'done' ? 0 : delayMs)
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(guard)
      clearTimeout(killTimer)
      if (signal === 'SIGKILL' && killTimer !== undefined) resolve(out.split('\n').filter((l) => l !== ''))
      else reject(new Error(`child exited with ${code ?? signal} before it was killed: ${err.slice(0, 2000)}`))
    })
  })
}

/** Node arguments that run `exportName(arg)` of the TypeScript module at `modulePath` (through tsx). */
export function moduleEntry(modulePath: string, exportName: string, arg: string): string[] {
  const script = `const m = await import(${JSON.stringify(modulePath)}); await m[${JSON.stringify(exportName)}](process.argv[1])`
  return ['--import', 'tsx', '--input-type=module', '-e', script, arg]
}
