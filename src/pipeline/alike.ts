/**
 * Declarations that a class treats every Information-request alike (see reply_templates.ts).
 * @module
 */

/**
 * True when each of `methods` that `object` has, other than `base`'s own, comes from a class that
 * declares an own static `informationRequestsAlike = true`, and none is set on the object itself.
 * The declaration is not inherited: a subclass that overrides one of the methods must make it again.
 */
export function declaresAlike(object: object, methods: readonly string[], base: object): boolean {
  for (const name of methods) {
    if (Object.hasOwn(object, name)) return false;
    let proto = Object.getPrototypeOf(object);
    while (proto !== null && !Object.hasOwn(proto, name)) proto = Object.getPrototypeOf(proto);
    if (proto === null || proto === base) continue;
    const owner = proto.constructor as { informationRequestsAlike?: unknown };
    if (
      !Object.hasOwn(owner, "informationRequestsAlike") || owner.informationRequestsAlike !== true
    ) {
      return false;
    }
  }
  return true;
}
