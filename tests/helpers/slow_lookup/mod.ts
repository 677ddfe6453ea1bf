/**
 * A test-only handler extension whose answer needs an asynchronous lookup, for the tests and the
 * benchmark of lookups in the pipeline (`bench/lookup_load.ts`):
 *
 * ```
 * extension /path/to/tests/helpers/slow_lookup/mod.ts
 * <slow-lookup>
 *     delay 0.05          # how long the lookup takes, in seconds
 *     behaviour answer    # answer, never (no answer at all) or reject (the lookup fails)
 *     slow-every 10       # optional: every 10th client (by its DUID's last two bytes) ...
 *     slow-delay 2        # ... takes this long instead
 * </slow-lookup>
 * ```
 *
 * The lookup "finds" an address computed from the client's DUID ({@link addressFor}) and puts it
 * in the bundle; the handler then answers every IA_NA with it and an Information-request with it
 * as DNS server, so a client can check every answer is the right one.
 * @module
 */

import {
  datatypes,
  defineExtension,
  defineSection,
  type Duid,
  Handler,
  handlerFor,
  IAAddressOption,
  IANAOption,
  InformationRequestMessage,
  normalizeIPv6,
  RecursiveNameServersOption,
  type TransactionBundle,
} from "../../../mod.ts";

/** What the lookup does. */
export type Behaviour = "answer" | "never" | "reject";

/** Values of `<slow-lookup>`. */
export interface SlowLookupValues {
  /** Seconds the lookup takes. */
  delay: number;
  /** What it does after that. */
  behaviour: Behaviour;
  /** Every how many clients one takes {@link SlowLookupValues.slowDelay} (0: none). */
  slowEvery: number;
  /** Seconds the lookup of those clients takes. */
  slowDelay: number;
}

/** The number a client's DUID ends with (its last two bytes). */
export function clientNumber(duid: Duid): number {
  const b = duid.toBytes();
  return ((b[b.length - 2] ?? 0) << 8) | (b[b.length - 1] ?? 0);
}

/** The address the lookup finds for `duid`: `2001:db8:5::` and the DUID's last four bytes. */
export function addressFor(duid: Duid): string {
  const b = duid.toBytes();
  const n = b.length;
  const group = (i: number) => (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16);
  return normalizeIPv6(`2001:db8:5::${group(n - 4)}:${group(n - 2)}`);
}

const FOUND = Symbol("slow-lookup address");

/** Waits `delay`, then finds the client's address (or never answers, or fails). */
export class SlowLookupHandler extends Handler {
  /** Create the handler; every `slowEvery`th client waits `slowMs` instead of `delayMs`. */
  constructor(
    readonly delayMs: number,
    readonly behaviour: Behaviour,
    readonly slowEvery = 0,
    readonly slowMs = 0,
  ) {
    super();
  }

  /** The lookup: every request with a client DUID waits for it. */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    const duid = bundle.clientDuid;
    if (!duid) return undefined;
    if (this.behaviour === "never") return new Promise(() => {});
    const slow = this.slowEvery > 0 && clientNumber(duid) % this.slowEvery === 0;
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (this.behaviour === "reject") reject(new Error("the test lookup fails"));
        else {
          bundle.handlerData.set(FOUND, addressFor(duid));
          resolve();
        }
      }, slow ? this.slowMs : this.delayMs);
    });
  }

  /** Answer with what the lookup found. */
  override handle(bundle: TransactionBundle): void {
    const address = bundle.handlerData.get(FOUND) as string | undefined;
    if (!address) return;
    if (bundle.request instanceof InformationRequestMessage) {
      bundle.response.options.push(new RecursiveNameServersOption([address]));
      return;
    }
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      bundle.response.options.push(
        new IANAOption(ia.iaid, 1800, 2880, [new IAAddressOption(address, 3600, 7200)]),
      );
      bundle.markHandled(ia);
    }
  }
}

/** The section: registered in one place (below) so that a change of extension shape is local. */
export const slowLookupSection = defineSection<SlowLookupValues>({
  type: "slow-lookup",
  kind: "handler",
  description: "A handler whose answer waits for an asynchronous lookup (tests only).",
  keys: [
    {
      name: "delay",
      type: datatypes.seconds,
      default: 0.05,
      description: "How long the lookup takes.",
    },
    {
      name: "behaviour",
      type: datatypes.choice("behaviour", ["answer", "never", "reject"] as const),
      default: "answer",
      description: "What the lookup does: answer, never answer, or fail.",
    },
    {
      name: "slow-every",
      type: datatypes.integer(0, 65535),
      default: 0,
      description: "Every how many clients one is slow (0: none).",
    },
    {
      name: "slow-delay",
      type: datatypes.seconds,
      default: 2,
      description: "How long the lookup of a slow client takes.",
    },
  ],
});

/** The test extension: `<slow-lookup>` and its handler. */
export const slowLookupExtension = defineExtension({
  name: "slow-lookup",
  handlers: [
    handlerFor(
      slowLookupSection,
      (v) => new SlowLookupHandler(v.delay * 1000, v.behaviour, v.slowEvery, v.slowDelay * 1000),
    ),
  ],
});
