import { emptyPskIndex, type CiphersuiteImpl, type KeyPackage, type PrivateKeyPackage, type Welcome } from 'ts-mls'
import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js'
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js'
import { accumulatePskSecret } from 'ts-mls/pskIndex.js'
import type { RatchetTree } from 'ts-mls/ratchetTree.js'
import { directPath, leafToNodeIndex, leafWidth, toLeafIndex } from 'ts-mls/treemath.js'
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js'
import { MlsError } from './errors.js'

/**
 * The structure of a Welcome's ratchet tree, checked before ts-mls joins
 * from it.
 *
 * ts-mls 1.6.4 (`validateRatchetTree` in clientState.js) walks the direct
 * path (`directPath`, treemath.js) of every unmerged leaf a parent node
 * lists before it checks the tree hash, and for a leaf outside the tree that
 * walk never meets the root: it fills the heap until the process dies. The
 * values are the sender's, so one Welcome from any contact we gave a key
 * package to killed the node, again at every start. What RFC 9420 asks of a
 * joiner's tree that keeps those walks inside it is checked here first, on
 * the tree as ts-mls decodes it (its last sent node non-blank, then extended
 * to a full tree: §12.4.3.3):
 *
 * - 2^(d+1) − 1 nodes for 2^d leaves, no wider than the smallest full tree
 *   that holds its last non-blank node (§12.4.3.3), and at most
 *   {@link MAX_TREE_LEAVES} leaves;
 * - leaves at even indexes, parents at odd ones (Appendix C);
 * - every parent's unmerged leaves in strictly increasing order (§7.1), each
 *   a non-blank leaf below that parent (§12.4.3.1).
 *
 * ts-mls then makes the remaining checks (signatures, keys, parent and tree
 * hashes).
 */

/**
 * Widest tree a Welcome may carry: 2^16 leaves. A Welcome travels in at most
 * 16 operations of 1 MiB (parts.ts) and takes about 250 bytes a member, so no
 * group Burrow can welcome into is wider; the owner invites no one past it.
 * The bound also caps the work of ts-mls's own unmerged-leaf check, which is
 * quadratic in a parent's list (about 3 s for a list of 2^16, extrapolated
 * from 0.17 s at 2^14).
 */
export const MAX_TREE_LEAVES = 1 << 16

/**
 * The ratchet tree that `welcome` carries for `keyPackage`, decrypted the way
 * ts-mls's join decrypts it (Burrow uses no pre-shared keys); undefined when
 * the Welcome carries no tree (ts-mls then refuses to join).
 */
export async function welcomeTree(welcome: Welcome, keyPackage: KeyPackage, privateKeys: PrivateKeyPackage, cs: CiphersuiteImpl): Promise<RatchetTree | undefined> {
  const initKey = await cs.hpke.importPrivateKey(privateKeys.initPrivateKey)
  const secrets = await decryptGroupSecrets(initKey, await makeKeyPackageRef(keyPackage, cs.hash), welcome, cs.hpke)
  if (secrets === undefined) throw new MlsError('MLS_MALFORMED', 'join group: malformed group secrets')
  const [pskSecret] = await accumulatePskSecret(secrets.psks, emptyPskIndex, cs, new Uint8Array(cs.kdf.size))
  const info = await decryptGroupInfo(welcome, secrets.joinerSecret, pskSecret, cs)
  if (info === undefined) throw new MlsError('MLS_MALFORMED', 'join group: malformed group info')
  return ratchetTreeFromExtension(info)
}

/** Throws `MLS_REJECTED`, naming the first defect, unless `tree` has the structure described above. */
export function checkTreeStructure(tree: RatchetTree): void {
  const width = (tree.length + 1) / 2
  if (tree.length === 0 || !Number.isInteger(Math.log2(width))) refuse(`${tree.length} nodes do not make a full tree`)
  if (width > MAX_TREE_LEAVES) refuse(`${width} leaves, more than ${MAX_TREE_LEAVES}`)
  if (tree.findLastIndex((node) => node !== undefined) < (tree.length - 1) / 2) refuse('a wider tree than its nodes need')
  tree.forEach((node, index) => {
    if (node === undefined) return
    if ((node.nodeType === 'leaf') !== (index % 2 === 0)) refuse(`a ${node.nodeType} node at index ${index}`)
    if (node.nodeType !== 'parent') return
    // A parent at level k spans the nodes within 2^k − 1 of its index.
    const span = 2 ** level(index) - 1
    let previous = -1
    for (const leaf of node.parent.unmergedLeaves) {
      if (leaf <= previous) refuse(`unmerged leaves of node ${index} not in increasing order`)
      if (Math.abs(2 * leaf - index) > span || tree[2 * leaf]?.nodeType !== 'leaf') refuse(`node ${index} lists leaf ${leaf}, not a non-blank leaf below it`)
      previous = leaf
    }
  })
}

/**
 * True when ts-mls 1.6.4 would refuse to join from `tree`, an honest tree
 * (the owner's own), for its unmerged leaves.
 *
 * Its `validateRatchetTree` asks, of every non-blank parent P and every leaf
 * L that P lists as unmerged, that every non-blank parent on L's direct path
 * (up to the root, not only up to P) list exactly the same unmerged leaves
 * as P. RFC 9420 (§7.9, §12.4.3.1) only asks that L be unmerged at every
 * non-blank parent between L and P. An add commit without a path (ts-mls
 * makes none for adds alone) adds the new leaf to the lists of its non-blank
 * ancestors, so once a commit with a path has filled the owner's direct
 * path, a later add can leave a higher ancestor listing two new leaves and a
 * lower one only one of them: invite 4, remove 1, invite 2, and the second
 * newcomer's ts-mls refused its honest Welcome. A commit with a path empties
 * the lists on the committer's direct path, where (the owner being the only
 * committer) every non-blank parent is.
 */
export function unmergedListsDiffer(tree: RatchetTree): boolean {
  const width = leafWidth(tree.length)
  return tree.some(
    (node) =>
      node?.nodeType === 'parent' &&
      node.parent.unmergedLeaves.some((leaf) =>
        directPath(leafToNodeIndex(toLeafIndex(leaf)), width).some((index) => {
          const above = tree[index]
          return above?.nodeType === 'parent' && !sameLeaves(above.parent.unmergedLeaves, node.parent.unmergedLeaves)
        }),
      ),
  )
}

function sameLeaves(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((leaf, i) => leaf === b[i])
}

/** The level of node `index` in the tree (0 for leaves): its count of trailing 1 bits. */
function level(index: number): number {
  let k = 0
  while (((index >> k) & 1) === 1) k++
  return k
}

function refuse(defect: string): never {
  throw new MlsError('MLS_REJECTED', `join group: malformed ratchet tree (${defect})`)
}
