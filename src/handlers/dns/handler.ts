/**
 * Handlers for `<recursive-name-servers>` (option 23) and `<domain-search-list>` (option 24),
 * plus the list-merging helpers the other merging handlers (SIP, SNTP) share.
 *
 * Merging: when several sections apply to one request, the option holds the entries of the most
 * specific scope first, then those of outer scopes, without duplicates. The pipeline runs inner
 * scopes' handlers first, so "existing" entries are always the more specific ones.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import type { AddressListOption, DomainListOption } from "../../protocol/mod.ts";
import { DomainSearchListOption, RecursiveNameServersOption } from "../../protocol/options/dns.ts";

type ListCtor<T, V> = new (values: V[]) => T;

/**
 * Merge two address-list options of one class: `existing`'s addresses first, then those of
 * `ours` not already present. Returns a new option (configured instances are never changed).
 */
export function mergeAddressLists<T extends AddressListOption>(existing: T, ours: T): T {
  const seen = new Set(existing.addresses.map((a) => a.toLowerCase()));
  const extra = ours.addresses.filter((a) => !seen.has(a.toLowerCase()));
  if (extra.length === 0) return existing;
  const ctor = existing.constructor as ListCtor<T, string>;
  return new ctor([...existing.addresses, ...extra]);
}

/** Domain names compare case-insensitively and without a trailing dot. */
function nameKey(name: string): string {
  return (name.endsWith(".") ? name.slice(0, -1) : name).toLowerCase();
}

/**
 * Merge two domain-list options of one class: `existing`'s names first, then those of `ours` not
 * already present (case-insensitive). Returns a new option (configured instances stay unchanged).
 */
export function mergeDomainLists<T extends DomainListOption>(existing: T, ours: T): T {
  const seen = new Set(existing.domainNames.map(nameKey));
  const extra = ours.domainNames.filter((n) => !seen.has(nameKey(n)));
  if (extra.length === 0) return existing;
  const ctor = existing.constructor as ListCtor<T, string>;
  return new ctor([...existing.domainNames, ...extra]);
}

/** Remove duplicates from a configured list, keeping the first occurrence. */
export function uniqueBy<T>(values: readonly T[], key: (v: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = key(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Adds Recursive Name Servers (23), merged with those of more specific scopes. */
export class RecursiveNameServersOptionHandler
  extends SimpleOptionHandler<RecursiveNameServersOption> {
  /** Create the handler for resolver addresses (canonical IPv6 text). */
  constructor(addresses: readonly string[], alwaysSend = false) {
    super(
      new RecursiveNameServersOption(uniqueBy(addresses, (a) => a.toLowerCase())),
      alwaysSend,
      mergeAddressLists,
    );
  }
}

/** Adds the Domain Search List (24), merged with those of more specific scopes. */
export class DomainSearchListOptionHandler extends SimpleOptionHandler<DomainSearchListOption> {
  /** Create the handler for search domains (ASCII form). */
  constructor(domainNames: readonly string[], alwaysSend = false) {
    super(new DomainSearchListOption(uniqueBy(domainNames, nameKey)), alwaysSend, mergeDomainLists);
  }
}
