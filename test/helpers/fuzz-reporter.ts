/**
 * A vitest reporter that adds up the `[fuzz] <target>: <n> inputs` lines the
 * fuzz properties print (test/helpers/fuzz.ts) and prints, when the run
 * ends, the inputs tried per target and in all. `npm run soak` uses it
 * beside the default reporter; any run can:
 * `npx vitest run --project unit --reporter=default --reporter=./test/helpers/fuzz-reporter.ts fuzz`.
 */
import type { Reporter } from 'vitest/reporters'

const LINE = /^\[fuzz\] (.+): (\d+) inputs$/

export default class FuzzReporter implements Reporter {
  readonly #inputs = new Map<string, number>()

  onUserConsoleLog(log: { content: string }): void {
    for (const line of log.content.split('\n')) {
      const match = LINE.exec(line.trim())
      if (match !== null) this.#inputs.set(match[1]!, (this.#inputs.get(match[1]!) ?? 0) + Number(match[2]))
    }
  }

  onTestRunEnd(): void {
    if (this.#inputs.size === 0) return
    const rows = [...this.#inputs].sort(([a], [b]) => a.localeCompare(b))
    const width = Math.max(...rows.map(([target]) => target.length))
    const total = rows.reduce((sum, [, n]) => sum + n, 0)
    const lines = rows.map(([target, n]) => `  ${target.padEnd(width)}  ${n.toLocaleString('en-US').padStart(11)}`)
    console.log(['', 'fuzz inputs per target:', ...lines, `  ${'total'.padEnd(width)}  ${total.toLocaleString('en-US').padStart(11)}`, ''].join('\n'))
  }
}
