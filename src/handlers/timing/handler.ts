/**
 * Handlers for `<iana-timing-limits>` and `<iapd-timing-limits>`: derive and bound the T1/T2
 * renewal times of the IA_NA (resp. IA_PD) options in responses.
 *
 * The work happens in the `post` phase, after every handler's `handle`: the limits then apply to
 * every IA in the response whatever the configuration order, including IAs answered by
 * assignment handlers configured after this one and those the built-in cleanup answers.
 * @module
 */

import { Handler, type TransactionBundle } from "../../pipeline/mod.ts";
import {
  hasPrototype,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  INFINITY,
  type Option,
} from "../../protocol/mod.ts";

/** The six limits; times in seconds with {@link INFINITY} for no limit; factor null = never. */
export interface TimingLimits {
  /** Lowest T1 (default 0). */
  minT1?: number;
  /** Highest T1 (default INFINITY). */
  maxT1?: number;
  /** Fraction of the shortest preferred lifetime used when T1 is 0 (default 0.5). */
  factorT1?: number | null;
  /** Lowest T2 (default 0). */
  minT2?: number;
  /** Highest T2 (default INFINITY). */
  maxT2?: number;
  /** Fraction of the shortest preferred lifetime used when T2 is 0 (default 0.8). */
  factorT2?: number | null;
}

/** The resulting timers of one IA. */
export interface Timers {
  /** Renewal time. */
  t1: number;
  /** Rebinding time. */
  t2: number;
}

/**
 * The timing-limit algorithm for one IA whose shortest preferred lifetime is `shortest`: fill a
 * zero T1/T2 from the factors (INFINITY stays INFINITY), then clamp
 * `T2 = min(max(minT2, T2), maxT2, shortest)` and `T1 = min(max(minT1, T1), maxT1, T2)`.
 */
export function applyTimingLimits(
  t1: number,
  t2: number,
  shortest: number,
  limits: Required<TimingLimits>,
): Timers {
  const scaled = (factor: number) =>
    shortest === INFINITY ? INFINITY : Math.min(INFINITY, Math.floor(shortest * factor));
  if (t1 === 0 && limits.factorT1 !== null) t1 = scaled(limits.factorT1);
  if (t2 === 0 && limits.factorT2 !== null) t2 = scaled(limits.factorT2);
  t2 = Math.min(Math.max(limits.minT2, t2), limits.maxT2, shortest);
  t1 = Math.min(Math.max(limits.minT1, t1), limits.maxT1, t2);
  return { t1, t2 };
}

/** Normalise limits: defaults, max-t1 at most max-t2, min-t2 at least min-t1. */
function normalise(limits: TimingLimits): Required<TimingLimits> {
  const maxT2 = limits.maxT2 ?? INFINITY;
  const minT1 = limits.minT1 ?? 0;
  return {
    minT1,
    maxT1: Math.min(limits.maxT1 ?? INFINITY, maxT2),
    factorT1: limits.factorT1 === undefined ? 0.5 : limits.factorT1,
    minT2: Math.max(limits.minT2 ?? 0, minT1),
    maxT2,
    factorT2: limits.factorT2 === undefined ? 0.8 : limits.factorT2,
  };
}

/**
 * Shortest preferred lifetime of the lease options of class `lease`, or undefined when none.
 * Leases being withdrawn (valid lifetime 0) do not count: they say nothing about when the client
 * should come back for the ones it keeps.
 */
function shortestPreferred(
  options: readonly Option[],
  lease: typeof IAAddressOption | typeof IAPrefixOption,
): number | undefined {
  let shortest: number | undefined;
  // hasPrototype, not `instanceof`: with a class that is a variable, `instanceof` takes V8's
  // generic path (a property lookup of Symbol.hasInstance on every test).
  const proto = lease.prototype;
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    if (hasPrototype(o, proto) && (o as IAAddressOption | IAPrefixOption).validLifetime > 0) {
      const p = (o as IAAddressOption | IAPrefixOption).preferredLifetime;
      if (shortest === undefined || p < shortest) shortest = p;
    }
  }
  return shortest;
}

/** Common part of the IA_NA and IA_PD timing limit handlers. */
export abstract class TimingLimitsHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** The normalised limits. */
  readonly limits: Readonly<Required<TimingLimits>>;

  /** Create the handler with the configured limits. */
  constructor(limits: TimingLimits = {}) {
    super();
    this.limits = normalise(limits);
  }

  /** The IA option class this handler adjusts. */
  protected abstract readonly iaType: typeof IANAOption | typeof IAPDOption;
  /** The lease option class whose preferred lifetimes count. */
  protected abstract readonly leaseType: typeof IAAddressOption | typeof IAPrefixOption;

  /** Adjust every matching IA of the finished response (replaced by an adjusted copy). */
  override post(bundle: TransactionBundle): void {
    const response = bundle.response;
    if (!response) return;
    const options = response.options;
    for (let i = 0; i < options.length; i++) {
      if (!hasPrototype(options[i], this.iaType.prototype)) continue;
      const ia = options[i] as IANAOption | IAPDOption;
      const shortest = shortestPreferred(ia.options, this.leaseType);
      if (shortest === undefined) continue;
      const { t1, t2 } = applyTimingLimits(ia.t1, ia.t2, shortest, this.limits);
      if (t1 === ia.t1 && t2 === ia.t2) continue;
      options[i] = new this.iaType(ia.iaid, t1, t2, ia.options);
    }
  }
}

/** Bounds T1/T2 of the IA_NA options in responses (from their addresses' preferred lifetimes). */
export class IANATimingLimitsHandler extends TimingLimitsHandler {
  /** Adjusts IA_NA. */
  protected readonly iaType = IANAOption;
  /** Counts IA Address lifetimes. */
  protected readonly leaseType = IAAddressOption;
}

/** Bounds T1/T2 of the IA_PD options in responses (from their prefixes' preferred lifetimes). */
export class IAPDTimingLimitsHandler extends TimingLimitsHandler {
  /** Adjusts IA_PD. */
  protected readonly iaType = IAPDOption;
  /** Counts IA Prefix lifetimes. */
  protected readonly leaseType = IAPrefixOption;
}
