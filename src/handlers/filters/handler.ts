/**
 * Filters: `<subnet>`, `<subnet-group>` (link address inside a prefix, or with `match outside` in
 * none), `<marked-with>` (mark on the request) and `<elapsed-time>` (Elapsed Time option within
 * bounds).
 * @module
 */

import { Filter, type TransactionBundle } from "../../pipeline/mod.ts";
import { ElapsedTimeOption, formatIPv6, maskBytes, parseIPv6 } from "../../protocol/mod.ts";

const LINK_BYTES = Symbol("link-address bytes");

/** The bundle's link address as 16 bytes, parsed once per request. */
export function linkAddressBytes(bundle: TransactionBundle): Uint8Array {
  let bytes = bundle.handlerData.get(LINK_BYTES) as Uint8Array | undefined;
  if (!bytes) {
    bytes = parseIPv6(bundle.linkAddress);
    bundle.handlerData.set(LINK_BYTES, bytes);
  }
  return bytes;
}

/** A prefix prepared for fast containment tests. */
interface PreparedPrefix {
  /** Network bytes (host bits zero). */
  readonly bytes: Uint8Array;
  /** Whole bytes to compare. */
  readonly full: number;
  /** Mask for the partial byte after them (0 = none). */
  readonly mask: number;
  /** `address/length` text. */
  readonly text: string;
}

/** A prefix as configured: 16 network bytes and a length. */
export interface PrefixSpec {
  /** The prefix address bytes. */
  readonly bytes: Uint8Array;
  /** The prefix length 0-128. */
  readonly length: number;
  /** Text form for descriptions. */
  readonly text?: string;
}

function prepare(prefix: PrefixSpec): PreparedPrefix {
  const bytes = maskBytes(prefix.bytes, prefix.length);
  const rest = prefix.length & 7;
  return {
    bytes,
    full: prefix.length >> 3,
    mask: rest ? (0xff << (8 - rest)) & 0xff : 0,
    text: prefix.text ?? `${formatIPv6(bytes)}/${prefix.length}`,
  };
}

function inPrefix(p: PreparedPrefix, address: Uint8Array): boolean {
  const { bytes, full, mask } = p;
  for (let i = 0; i < full; i++) if (bytes[i] !== address[i]) return false;
  return mask === 0 || (bytes[full] & mask) === (address[full] & mask);
}

/** Matches requests whose link address lies in one prefix. */
export class SubnetFilter extends Filter {
  /** Decides alike for every Information-request (see `filterTreatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  readonly #prefix: PreparedPrefix;

  /** Create the filter for `prefix`. */
  constructor(prefix: PrefixSpec) {
    super();
    this.#prefix = prepare(prefix);
  }

  /** True when the link address is inside the prefix. */
  match(bundle: TransactionBundle): boolean {
    return inPrefix(this.#prefix, linkAddressBytes(bundle));
  }

  /** The link address compared. */
  override explainMatch(bundle: TransactionBundle): string {
    return `link address ${bundle.linkAddress}`;
  }

  /** `subnet <prefix>`. */
  describe(): string {
    return `subnet ${this.#prefix.text}`;
  }
}

/**
 * Matches requests whose link address lies in any of several prefixes, or with `outside` in none
 * of them.
 */
export class SubnetGroupFilter extends Filter {
  /** Decides alike for every Information-request (see `filterTreatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  readonly #prefixes: readonly PreparedPrefix[];

  /** Create the filter for `prefixes`; `outside` matches link addresses in none of them. */
  constructor(prefixes: readonly PrefixSpec[], readonly outside = false) {
    super();
    this.#prefixes = prefixes.map(prepare);
  }

  /** True when the link address is inside one of the prefixes (with `outside`: in none). */
  match(bundle: TransactionBundle): boolean {
    const address = linkAddressBytes(bundle);
    for (const p of this.#prefixes) if (inPrefix(p, address)) return !this.outside;
    return this.outside;
  }

  /** The link address compared. */
  override explainMatch(bundle: TransactionBundle): string {
    return `link address ${bundle.linkAddress}`;
  }

  /** `subnet-group <prefix>, ...` (`subnet-group outside ...`). */
  describe(): string {
    const where = this.outside ? "outside " : "";
    return `subnet-group ${where}${this.#prefixes.map((p) => p.text).join(", ")}`;
  }
}

/** Matches requests that carry a mark. */
export class MarkedWithFilter extends Filter {
  /** Decides alike for every Information-request (see `filterTreatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Create the filter for `mark`. */
  constructor(readonly mark: string) {
    super();
  }

  /** True when the request has the mark. */
  match(bundle: TransactionBundle): boolean {
    return bundle.marks.has(this.mark);
  }

  /** The request's marks. */
  override explainMatch(bundle: TransactionBundle): string {
    return `marks ${[...bundle.marks].join(", ") || "none"}`;
  }

  /** `marked-with <mark>`. */
  describe(): string {
    return `marked-with ${this.mark}`;
  }
}

/**
 * Matches requests whose Elapsed Time option (hundredths of a second) is more than `moreThan`
 * and/or less than `lessThan` seconds. Requests without the option never match.
 */
export class ElapsedTimeFilter extends Filter {
  /** Decides alike for every Information-request (see `filterTreatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  readonly #above: number;
  readonly #below: number;

  /** Create the filter; give at least one bound, in seconds. */
  constructor(readonly moreThan?: number, readonly lessThan?: number) {
    super();
    this.#above = moreThan === undefined ? -1 : moreThan * 100;
    this.#below = lessThan === undefined ? Infinity : lessThan * 100;
  }

  /** True when the elapsed time is within the bounds. */
  match(bundle: TransactionBundle): boolean {
    const option = bundle.request.getOption(ElapsedTimeOption);
    if (!option) return false;
    const t = option.elapsedTime;
    return t > this.#above && t < this.#below;
  }

  /** The request's elapsed time. */
  override explainMatch(bundle: TransactionBundle): string {
    const option = bundle.request.getOption(ElapsedTimeOption);
    return option ? `elapsed time ${option.elapsedTime / 100} s` : "no Elapsed Time option";
  }

  /** `elapsed-time more-than Ns less-than Ns`. */
  describe(): string {
    const parts = ["elapsed-time"];
    if (this.moreThan !== undefined) parts.push(`more-than ${this.moreThan}s`);
    if (this.lessThan !== undefined) parts.push(`less-than ${this.lessThan}s`);
    return parts.join(" ");
  }
}
