import type { EventEmitter } from 'node:events'

/** Adds a typed listener and returns its removal, so an owner can detach everything it attached in one sweep. */
export function listen<E extends Record<keyof E, unknown[]>, K extends keyof E & string>(
  emitter: EventEmitter<E>,
  event: K,
  listener: (...args: E[K]) => void,
): () => void {
  // EventEmitter<E>'s own signatures cannot be called with a generic K.
  const untyped = emitter as unknown as EventEmitter
  untyped.on(event, listener as (...args: unknown[]) => void)
  return () => untyped.off(event, listener as (...args: unknown[]) => void)
}
