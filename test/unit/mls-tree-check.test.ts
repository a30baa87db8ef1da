// The structural check of a Welcome's ratchet tree (tree-check.ts), rule by
// rule, on trees of placeholder nodes: the check reads only node kinds and
// unmerged leaves, the rest is ts-mls's to verify.
import type { LeafNode } from 'ts-mls'
import type { RatchetTree } from 'ts-mls/ratchetTree.js'
import { describe, expect, it } from 'vitest'
import { checkTreeStructure, MAX_TREE_LEAVES, unmergedListsDiffer } from '../../src/group/mls/tree-check.js'

const L = { nodeType: 'leaf', leaf: {} as LeafNode } as const
const P = (unmergedLeaves: number[]): RatchetTree[number] => ({ nodeType: 'parent', parent: { hpkePublicKey: new Uint8Array(32), parentHash: new Uint8Array(0), unmergedLeaves } })
const _ = undefined

/** Four leaves (nodes 0, 2, 4, 6) under parents 1 and 5 and the root 3. */
const good: RatchetTree = [L, P([1]), L, P([1, 2]), L, _, _]

/** A tree of `leaves` leaves whose only non-blank node is its last leaf. */
function wide(leaves: number): RatchetTree {
  const tree: RatchetTree = new Array(2 * leaves - 1).fill(undefined)
  tree[tree.length - 1] = L
  return tree
}

describe('MLS: the structure of a Welcome tree', () => {
  it('takes a well-formed tree, of up to the widest Burrow allows', () => {
    expect(() => checkTreeStructure(good)).not.toThrow()
    expect(() => checkTreeStructure([L])).not.toThrow()
    expect(() => checkTreeStructure(wide(MAX_TREE_LEAVES))).not.toThrow()
  })

  it.each<[string, RatchetTree, RegExp]>([
    ['an unmerged leaf outside the tree (ts-mls walks up from it for ever)', [L, P([1]), L, P([1, 5]), L, _, _], /lists leaf 5/],
    ['an unmerged leaf outside its parent', [L, P([2]), L, P([]), L, _, _], /node 1 lists leaf 2/],
    ['a blank unmerged leaf', [L, _, L, P([3]), L, _, _], /lists leaf 3/],
    ['unmerged leaves out of order', [L, _, L, P([2, 1]), L, _, _], /not in increasing order/],
    ['an unmerged leaf twice', [L, _, L, P([1, 1]), L, _, _], /not in increasing order/],
    ['an even number of nodes', [L, P([]), L, P([]), L, _], /6 nodes/],
    ['a width that is not a power of two', [L, P([]), L, P([]), L], /5 nodes/],
    ['no nodes', [], /0 nodes/],
    ['blank nodes past what the tree needs', [L, P([]), L, _, _, _, _], /wider tree/],
    ['a leaf at a parent index', [L, L, L], /leaf node at index 1/],
    ['a parent at a leaf index', [L, P([]), P([])], /parent node at index 2/],
    ['more leaves than a Welcome can hold', wide(2 * MAX_TREE_LEAVES), /131072 leaves/],
  ])('refuses %s', (_name, tree, defect) => {
    expect(() => checkTreeStructure(tree)).toThrow(expect.objectContaining({ code: 'MLS_REJECTED', message: expect.stringMatching(defect) }))
  })
})

describe('MLS: the unmerged leaves ts-mls 1.6.4 refuses at join', () => {
  it('flags parents above an unmerged leaf whose lists differ, which RFC 9420 allows', () => {
    // Leaf 1 is unmerged at node 1 and the root, the root also lists leaf 2: honest, refused by ts-mls.
    expect(unmergedListsDiffer(good)).toBe(true)
    expect(unmergedListsDiffer([L, P([1]), L, P([1]), L, _, _])).toBe(false)
    expect(unmergedListsDiffer([L, _, L, P([1, 2]), L, _, _])).toBe(false)
    expect(unmergedListsDiffer([L, P([]), L, P([]), L, _, _])).toBe(false)
  })
})
