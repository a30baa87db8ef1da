/** Entry point of the `burrow` command (see `burrow --help`). */
import { processIo } from './io.js'
import { runCli } from './run.js'

// A reader that went away (`burrow read --follow | head -1`) ends the command quietly, as it would `cat`.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    process.exit(process.exitCode ?? 0)
  })
}

process.exitCode = await runCli(process.argv.slice(2), processIo())
