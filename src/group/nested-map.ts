/** `outer → inner → value` by hex keys, with empty inner maps removed: the indexes of the group layer (sharing.ts, ingest.ts). */
export class NestedMap<V> {
  readonly #map = new Map<string, Map<string, V>>()

  get(outer: string, inner: string): V | undefined {
    return this.#map.get(outer)?.get(inner)
  }

  inner(outer: string): ReadonlyMap<string, V> | undefined {
    return this.#map.get(outer)
  }

  set(outer: string, inner: string, value: V): void {
    let map = this.#map.get(outer)
    if (map === undefined) this.#map.set(outer, (map = new Map()))
    map.set(inner, value)
  }

  delete(outer: string, inner: string): void {
    const map = this.#map.get(outer)
    if (map?.delete(inner) === true && map.size === 0) this.#map.delete(outer)
  }

  /** Forgets `outer` with everything under it. */
  deleteOuter(outer: string): void {
    this.#map.delete(outer)
  }

  outerKeys(): IterableIterator<string> {
    return this.#map.keys()
  }

  keys(outer: string): IterableIterator<string> {
    return (this.#map.get(outer) ?? new Map<string, V>()).keys()
  }
}
