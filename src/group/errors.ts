import { BurrowError } from '../errors.js'

/**
 * Stable codes of the group layer and their default messages. Messages name
 * the defect, never plaintext, key material or group names.
 */
export const GROUP_ERRORS = {
  /** No group (joined or created) with this id, prefix or name is known locally. */
  GROUP_NOT_FOUND: 'no such group',
  /** What was typed matches several groups. */
  GROUP_AMBIGUOUS: 'the name matches several groups; use more of the id',
  /** The call is reserved to the group's owner (the only committer). */
  GROUP_NOT_OWNER: 'only the group owner can do this',
  /** The identity named in the call is not a current member of the group. */
  GROUP_NOT_A_MEMBER: 'identity is not a member of the group',
  /** The identity named in the call already is a member of the group. */
  GROUP_ALREADY_A_MEMBER: 'identity already is a member of the group',
  /** This member was removed from the group (or left it): it can no longer send or read. */
  GROUP_INACTIVE: 'this member is no longer in the group',
  /**
   * This member's update or leave proposal waits for the owner's commit. MLS
   * refuses application messages meanwhile, and one proposal at a time keeps
   * re-proposing after a missed commit simple.
   */
  GROUP_PROPOSAL_PENDING: "a proposal of this member awaits the owner's commit",
  /** The owner cannot leave its own group: it is the only committer. */
  GROUP_OWNER_CANNOT_LEAVE: 'the owner cannot leave its own group',
  /** Another group here already has that local name: names must stay unique, so that a name says which group. */
  GROUP_NAME_TAKEN: 'another group here already has that name',
  /** A caller-supplied argument is out of range (identity key length, limit, name). */
  GROUP_INVALID_ARGUMENT: 'invalid argument',
  /** An operation's payload is not a well-formed group payload (CBOR array of a known kind). */
  GROUP_MALFORMED_PAYLOAD: 'malformed group payload',
  /** An operation lacks the `epoch` extension, or it disagrees with the MLS framing of its payload. */
  GROUP_EPOCH_MISMATCH: 'epoch tag differs from the MLS framing',
  /** A commit or Welcome appeared in the log of someone other than the owner, who alone orders epochs. */
  GROUP_NOT_FROM_OWNER: 'not written by the group owner',
  /** The MLS sender of a message is not the author of the operation that carries it. */
  GROUP_SENDER_MISMATCH: 'MLS sender differs from the operation author',
  /** A member's proposal would do more than a member may ask for (update its own key, or leave), or its new leaf fails the leaf policy (mls/leaf-policy.ts): the owner refuses to commit it. */
  GROUP_PROPOSAL_REFUSED: 'a member may only update its own key or leave',
  /** A commit's bundle does not hold the proposals it needs, or holds something else. */
  GROUP_INVALID_BUNDLE: 'invalid commit bundle',
  /** A Welcome from the inviter is malformed, opens one of our key packages but cannot be joined (a malformed ratchet tree, a bad signature), or describes another group or a group without the inviter. */
  GROUP_INVALID_WELCOME: 'invalid welcome',
  /** An inviter asked us for key packages faster than the rate limit allows (a refusal sent to it). */
  GROUP_RATE_LIMITED: 'too many key-package requests; try again later',
  /** Too many of our invitations wait for a Welcome, from this inviter or in total (a refusal sent to the inviter). */
  GROUP_TOO_MANY_INVITATIONS: 'too many invitations wait for a Welcome',
  /** A key-package request names a group id that does not derive from the requester's key and nonce: only a group's owner invites to it. */
  GROUP_ID_NOT_OWNED: "the group id is not derived from the inviter's key",
  /** The group was made before group ids were bound to their owner: nobody can be invited into it (make a new group). */
  GROUP_ID_UNBOUND: 'this group was made before group ids were bound to their owner; invite into a new group',
  /** The invitee refused to give a key package, or answered with something else. */
  GROUP_KEY_PACKAGE_REFUSED: 'the peer refused to give a key package',
  /** Recorded for an operation whose processing failed in a way that is not one of Burrow's typed errors (a defect in a dependency). */
  GROUP_PROCESSING_FAILED: 'group processing failed unexpectedly',
  /** The node died twice while MLS processed this operation of a peer (a Welcome, commit or proposal): it is refused rather than tried at every start. */
  GROUP_PROCESSING_INTERRUPTED: 'the node stopped twice while processing this operation; it is refused rather than tried again',
  // Files, deletion and retention.
  /** No file of the group has this id, id prefix or name (or it was deleted). */
  GROUP_FILE_NOT_FOUND: 'no such file in the group',
  /** The name matches several files of the group. */
  GROUP_FILE_AMBIGUOUS: 'the name matches several files; use its id',
  /** Some of the file's chunks have not arrived yet. */
  GROUP_FILE_INCOMPLETE: 'the file has not fully arrived yet',
  /** A chunk does not open with the file's key, or the content differs from the announced size or hash. */
  GROUP_FILE_CORRUPT: 'the file does not match what its sender announced',
  /** A file upload was given more bytes than a file may hold, or used after it ended. */
  GROUP_FILE_UPLOAD: 'the file upload cannot take this',
  /** The local view of the group has no message or file with this id. */
  GROUP_ENTRY_NOT_FOUND: 'no such message or file in the group',
  /** Only its author deletes an entry. */
  GROUP_NOT_DELETABLE: 'only your own messages and files can be deleted',
  // Keepers (keeper-wire.ts, kept.ts): nodes that store a group's logs without being members.
  /** A keeper refused an order or a claim; the message carries its code. */
  KEEPER_REFUSED: 'the keeper refused the request',
  /** A keeper protocol message is malformed or out of bounds. */
  KEEPER_MALFORMED: 'malformed keeper message',
  /** A kept group reached its quota (or the keeper its total): new operations of the group are refused until space frees. */
  KEEPER_QUOTA_FULL: 'the keeper is full for this group: new operations are refused',
  /** The keeper's user has not allowed the orderer to have groups kept there (`burrow kept allow <peer>`); the order waits for the answer. */
  KEEPER_NOT_ALLOWED: 'the keeper keeps groups only for peers its user allowed (burrow kept allow <peer>)',
  /** The peer is not a keeper of the group, or not one the member allowed. */
  KEEPER_NOT_FOUND: 'no such keeper in the group',
} as const
export type GroupErrorCode = keyof typeof GROUP_ERRORS

/** An error of the group layer; `code` is one of {@link GROUP_ERRORS}. */
export class GroupError extends BurrowError {
  declare readonly code: GroupErrorCode
  constructor(code: GroupErrorCode, message: string = GROUP_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
