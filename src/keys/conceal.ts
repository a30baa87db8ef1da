import { inspect } from 'node:util'

/**
 * Makes an object holding secrets print as `[label]` through JSON.stringify,
 * util.inspect (console.log, pino's fallback) and template strings, then
 * freezes it. The fields stay readable by code that asks for them by name;
 * the point is that no *accidental* printing of the whole object leaks a key.
 * The added methods are non-enumerable so spreading the object copies only data.
 */
export function conceal<T extends object>(target: T, label: string): Readonly<T> {
  const placeholder = `[${label}]`
  const describe = (): string => placeholder
  Object.defineProperties(target, {
    toJSON: { value: describe, enumerable: false },
    toString: { value: describe, enumerable: false },
    [inspect.custom]: { value: describe, enumerable: false },
  })
  return Object.freeze(target)
}
