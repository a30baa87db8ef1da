import { BurrowError } from '../errors.js'

/**
 * Base class of the errors the group layer raises on purpose. Messages name
 * the defect, never plaintext, key material or group names.
 */
export abstract class GroupError extends BurrowError {}

/** No group (joined or created) with this id is known locally. */
export class GroupNotFoundError extends GroupError {
  constructor() {
    super('GROUP_NOT_FOUND', 'no such group')
  }
}

/** The call is reserved to the group's owner (the only committer). */
export class NotGroupOwnerError extends GroupError {
  constructor(action: string) {
    super('GROUP_NOT_OWNER', `only the group owner can ${action}`)
  }
}

/** The identity named in the call is not a current member of the group. */
export class NotAMemberError extends GroupError {
  constructor(message = 'identity is not a member of the group') {
    super('GROUP_NOT_A_MEMBER', message)
  }
}

/** The identity named in the call already is a member of the group. */
export class AlreadyAMemberError extends GroupError {
  constructor() {
    super('GROUP_ALREADY_A_MEMBER', 'identity already is a member of the group')
  }
}

/** This member was removed from the group (or left it): it can no longer send or read. */
export class GroupInactiveError extends GroupError {
  constructor() {
    super('GROUP_INACTIVE', 'this member is no longer in the group')
  }
}

/**
 * This member's update or leave proposal waits for the owner's commit. MLS
 * refuses application messages meanwhile, and one proposal at a time keeps
 * re-proposing after a missed commit simple.
 */
export class GroupProposalPendingError extends GroupError {
  constructor() {
    super('GROUP_PROPOSAL_PENDING', 'a proposal of this member awaits the owner\'s commit')
  }
}

/** The owner cannot leave its own group: it is the only committer. */
export class OwnerCannotLeaveError extends GroupError {
  constructor() {
    super('GROUP_OWNER_CANNOT_LEAVE', 'the owner cannot leave its own group')
  }
}

/** A caller-supplied argument is out of range (identity key length, limit, name). */
export class GroupArgumentError extends GroupError {
  constructor(message: string) {
    super('GROUP_INVALID_ARGUMENT', message)
  }
}

/** An operation's payload is not a well-formed group payload (CBOR array of a known kind). */
export class MalformedGroupPayloadError extends GroupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GROUP_MALFORMED_PAYLOAD', message, options)
  }
}

/** An operation lacks the `epoch` extension, or it disagrees with the MLS framing of its payload. */
export class GroupEpochMismatchError extends GroupError {
  constructor(message: string) {
    super('GROUP_EPOCH_MISMATCH', message)
  }
}

/** A commit or Welcome appeared in the log of someone other than the owner, who alone orders epochs. */
export class NotFromOwnerError extends GroupError {
  constructor(what: 'commit' | 'welcome') {
    super('GROUP_NOT_FROM_OWNER', `${what} not written by the group owner`)
  }
}

/** The MLS sender of a message is not the author of the operation that carries it. */
export class SenderMismatchError extends GroupError {
  constructor() {
    super('GROUP_SENDER_MISMATCH', 'MLS sender differs from the operation author')
  }
}

/**
 * A member's proposal would do more than a member may ask for (update its own
 * key, or leave): the owner refuses to commit it.
 */
export class ProposalRefusedError extends GroupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GROUP_PROPOSAL_REFUSED', message, options)
  }
}

/** A commit's bundle does not hold the proposals it needs, or holds something else. */
export class InvalidCommitBundleError extends GroupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GROUP_INVALID_BUNDLE', message, options)
  }
}

/** A Welcome from the inviter decrypted but describes another group, or a group without the inviter. */
export class InvalidWelcomeError extends GroupError {
  constructor(message: string) {
    super('GROUP_INVALID_WELCOME', message)
  }
}
