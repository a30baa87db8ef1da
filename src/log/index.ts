/**
 * Single-writer, signed, append-only logs (p2panda style), byte for byte as
 * docs/log-format.md specifies. Pure functions over bytes: no storage here.
 *
 * - `types.ts`: operations, headers, limits. `cbor.ts`: the canonical CBOR
 *   subset every header is written in. `header.ts`: header encoding and
 *   decoding. `operation.ts`: create and decode operations (header + payload).
 * - `validate.ts`: the validation rules, in the order the spec lists them.
 * - `fork.ts`: proofs that an author wrote two operations at one position.
 * - `ed25519.ts`, `hash.ts`, `bytes.ts`: signatures, SHA-256, byte helpers.
 * - `verify-pool.ts`: signatures of large batches checked on worker threads
 *   ahead of `validateOperation`, which then skips only that check.
 * - `errors.ts`: `LogError` and its codes, one per rule.
 * @module
 */export * from './types.js'
export * from './errors.js'
export { bytesEqual, toHex, fromHex } from './bytes.js'
export { hashOf } from './hash.js'
export { seedSigner, verifySignature } from './ed25519.js'
export { encodeHeader, encodeUnsignedHeader, decodeHeader, isPrunePoint, signingInputOf } from './header.js'
export { createOperation, decodeOperation, type CreateOperationInput } from './operation.js'
export { validateOperation, type ChainLink } from './validate.js'
export { VerifierPool, type VerifierPoolOptions } from './verify-pool.js'
export {
  createForkProof,
  verifyForkProof,
  encodeForkProof,
  decodeForkProof,
  forkProofToText,
  forkProofFromText,
  forkProofId,
  type ForkProof,
  type ForkFacts,
} from './fork.js'
