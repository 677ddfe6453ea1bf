/**
 * Class constants read through instances (an option's `code`, a message's `type`) without the
 * cost of a getter on a base class: the first instance of each class copies the constants from
 * the class's statics onto its prototype as read-only data properties, which later reads find
 * directly (one property load instead of a getter call and two loads).
 * @module
 */

/** Marks a prototype with the class whose constants it holds. */
const OWNER = Symbol("class constants of");

/** Pairs of an instance property and the static property of the class it is copied from. */
export type ClassConstants = ReadonlyArray<readonly [key: string, staticKey: string]>;

/**
 * Whether `cls`'s prototype holds its own copies of its constants. Base class constructors call
 * this with `new.target` and {@link cacheClassConstants} when it answers false; in optimised code
 * the check folds away where the class is known.
 */
export function hasClassConstants(cls: abstract new (...args: never[]) => unknown): boolean {
  return (cls.prototype as Record<symbol, unknown>)[OWNER] === cls;
}

/**
 * Copy `constants` from `cls`'s statics onto its prototype, so instances of `cls` read them
 * without the base class's getter. A key the prototype already defines itself (an override
 * that answers per instance) or whose static is undefined keeps the getter. Each class gets its
 * own copies: a subclass with other statics never reads its parent's.
 */
export function cacheClassConstants(
  cls: abstract new (...args: never[]) => unknown,
  constants: ClassConstants,
): void {
  const proto = cls.prototype as object;
  const statics = cls as unknown as Record<string, unknown>;
  for (const [key, staticKey] of constants) {
    const value = statics[staticKey];
    const own = Object.getOwnPropertyDescriptor(proto, key);
    if (value === undefined || (own && !Object.hasOwn(own, "value"))) continue;
    Object.defineProperty(proto, key, {
      value,
      writable: false,
      enumerable: false,
      configurable: true,
    });
  }
  Object.defineProperty(proto, OWNER, { value: cls, enumerable: false, configurable: true });
}
