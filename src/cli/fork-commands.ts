import { identityFingerprint } from '../keys/fingerprint.js'
import { forkProofFromText, forkProofId, toHex, verifyForkProof } from '../log/index.js'
import { printJson, withApi, type Run } from './api-commands.js'
import { CliError, EXIT } from './errors.js'
import { ago, keyValues, shortId, table } from './format.js'
import { readStdinText, type CliIo } from './io.js'

/** Fork proofs from the command line: the node's list and export, and `verify-fork`, which needs no node. */

/** A proof's text form is about 5.5 KB at most (two 4 KiB headers in base64url): more on stdin is not a proof. */
const MAX_PROOF_TEXT_BYTES = 16 * 1024

/** `burrow forks` / `burrow forks list` */
async function forksList(run: Run, io: CliIo): Promise<number> {
  const { forks } = await withApi(run, (api) => api.call('forks.list', {}))
  if (run.globals.json) printJson(io, { forks })
  else if (forks.length === 0) io.stdout.write('no fork proofs: no identity was seen signing two different operations at one position\n')
  else {
    io.stdout.write(
      table(
        ['ID', 'AUTHOR', 'FINGERPRINT', 'LOG', 'SEQ', 'DETECTED'],
        forks.map((f) => [f.id, f.self ? 'you (another device holds your keys?)' : (f.authorName ?? shortId(f.authorPeerId)), f.fingerprint, f.logId.slice(0, 12), String(f.seq), f.detectedAt === undefined ? '-' : ago(f.detectedAt)]),
      ) + 'give one to others with `burrow forks export <id>`; they check it with `burrow verify-fork <proof>`\n',
    )
  }
  return EXIT.OK
}

/** `burrow forks export <id>` */
async function forksExport(run: Run, io: CliIo): Promise<number> {
  const exported = await withApi(run, (api) => api.call('forks.export', { id: run.args[0]! }))
  if (run.globals.json) printJson(io, exported)
  else io.stdout.write(`${exported.proof}\n`)
  return EXIT.OK
}

/**
 * `burrow verify-fork <proof | ->`: checks a proof by the rules of
 * docs/log-format.md with the log layer alone, without a node or a data
 * directory. A proof that does not hold is `LOG_INVALID_FORK_PROOF` (exit 2).
 */
async function verifyFork(run: Run, io: CliIo): Promise<number> {
  const text = run.args[0] === '-' ? await readStdinText(io, { what: 'the proof', maxBytes: MAX_PROOF_TEXT_BYTES, tooLong: `stdin holds more than ${MAX_PROOF_TEXT_BYTES} bytes: not a fork proof` }) : run.args[0]!
  const proof = forkProofFromText(text)
  const facts = verifyForkProof(proof)
  const result = {
    valid: true,
    id: forkProofId(proof),
    author: toHex(facts.author),
    fingerprint: identityFingerprint(facts.author),
    logId: toHex(facts.logId),
    seq: facts.seq,
  }
  if (run.globals.json) printJson(io, result)
  else {
    io.stdout.write(
      `valid fork proof: the author signed two different operations at one position\n${keyValues([
        ['id', result.id],
        ['author', result.author],
        ['fingerprint', result.fingerprint],
        ['log', result.logId],
        ['seq', String(result.seq)],
      ])}`,
    )
  }
  return EXIT.OK
}

/** Fork commands, by command path. */
export const FORK_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  'forks list': forksList,
  'forks export': forksExport,
  'verify-fork': verifyFork,
}
