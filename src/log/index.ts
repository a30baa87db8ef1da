/** Signed append-only logs: operation format, encoding, validation and fork proofs. */
export * from './types.js'
export * from './errors.js'
export { bytesEqual, toHex, fromHex } from './bytes.js'
export { hashOf } from './hash.js'
export { seedSigner, verifySignature } from './ed25519.js'
export { encodeHeader, encodeUnsignedHeader, decodeHeader, isPrunePoint, signingInputOf } from './header.js'
export { createOperation, decodeOperation, type CreateOperationInput } from './operation.js'
export { validateOperation, type ChainLink } from './validate.js'
export {
  createForkProof,
  verifyForkProof,
  encodeForkProof,
  decodeForkProof,
  forkProofToText,
  forkProofFromText,
  type ForkProof,
  type ForkFacts,
} from './fork.js'
