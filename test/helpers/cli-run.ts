// `runCli` in this process, with its output collected and an empty stdin: for unit tests of the command line.
import { PassThrough } from 'node:stream'
import { runCli as runCliWith } from '../../src/cli/run.js'

/** Runs the command line `argv` in this process; resolves with its exit code and what it printed. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const stdin = new PassThrough()
  stdin.end()
  const code = await runCliWith(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, stdin, env })
  return { code, out, err }
}
