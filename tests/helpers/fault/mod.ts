/**
 * A test-only fault-injection handler extension (never shipped, never in builtins): on magic
 * transaction ids the worker that handles the request throws, leaves a rejection unhandled,
 * calls `Deno.exit` or `self.close()`, hangs in a busy loop or in a lookup that never answers;
 * every other Information-request is answered by a spy that reports the effective user id the
 * handler ran as, as the address of a DNS server ({@link euidAddress}).
 *
 * ```
 * extension /path/to/tests/helpers/fault/mod.ts
 * <fault>
 *     fail-load-file /tmp/x/fail   # optional: a worker whose handler is created while this
 *                                  # file exists fails to start
 * </fault>
 * ```
 * @module
 */

import process from "node:process";
import {
  datatypes,
  defineExtension,
  defineSection,
  Handler,
  handlerFor,
  InformationRequestMessage,
  RecursiveNameServersOption,
  type TransactionBundle,
} from "../../../mod.ts";

/** The magic transaction ids and what each makes the handling worker do. */
export const FAULT = {
  /** `handle()` throws. */
  throw: 0xfa0001,
  /** A promise rejects with nothing to catch it (an unhandled rejection in the worker). */
  reject: 0xfa0002,
  /** `Deno.exit(3)` in the worker. */
  exit: 0xfa0003,
  /** `self.close()` in the worker. */
  close: 0xfa0004,
  /** A busy loop that never ends (the worker's event loop stops). */
  hang: 0xfa0005,
  /** A lookup that never answers. */
  neverLookup: 0xfa0006,
} as const;

/** The DNS server address a spy answer carries for effective uid `euid`. */
export function euidAddress(euid: number): string {
  // The 1 keeps the last group from compressing away when the uid is 0.
  return `2001:db8:ee::1:${euid.toString(16)}`;
}

/** The effective uid in a spy answer's DNS server address, or undefined. */
export function euidOf(addresses: readonly string[]): number | undefined {
  const m = /^2001:db8:ee::1:([0-9a-f]+)$/.exec(addresses[0] ?? "");
  return m ? parseInt(m[1], 16) : undefined;
}

/** The fault handler (see the module documentation). */
export class FaultHandler extends Handler {
  /** Create it: refuses (the worker fails to load) while `failLoadFile` exists. */
  constructor(readonly failLoadFile?: string) {
    super();
    if (failLoadFile !== undefined) {
      let present = false;
      try {
        Deno.lstatSync(failLoadFile);
        present = true;
      } catch {
        // absent: load normally
      }
      if (present) throw new Error(`fault: ${failLoadFile} exists, refusing to load`);
    }
  }

  /** `neverLookup` waits for ever; the others need no lookup. */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    if (bundle.request.transactionId === FAULT.neverLookup) return new Promise(() => {});
    return undefined;
  }

  /** Do the fault of the transaction id, or answer as a spy. */
  override handle(bundle: TransactionBundle): void {
    switch (bundle.request.transactionId) {
      case FAULT.throw:
        throw new Error("fault: handler throws");
      case FAULT.reject:
        void Promise.reject(new Error("fault: unhandled rejection"));
        return;
      case FAULT.exit:
        Deno.exit(3);
        return;
      case FAULT.close:
        (globalThis as unknown as { close(): void }).close();
        return;
      case FAULT.hang:
        for (;;) {
          // never yields: the heartbeat stops
        }
    }
    if (bundle.request instanceof InformationRequestMessage) {
      bundle.response.options.push(
        new RecursiveNameServersOption([euidAddress(process.geteuid!())]),
      );
    }
  }
}

/** Values of `<fault>`. */
export interface FaultValues {
  /** A worker whose handler is created while this file exists fails to start. */
  failLoadFile?: string;
}

/** The section. */
export const faultSection = defineSection<FaultValues>({
  type: "fault",
  kind: "handler",
  description: "Fault injection on magic transaction ids, and an euid spy (tests only).",
  keys: [
    {
      name: "fail-load-file",
      type: datatypes.text,
      description: "While this file exists, creating the handler fails.",
    },
  ],
});

/** The test extension: `<fault>` and its handler. */
export const faultExtension = defineExtension({
  name: "fault",
  handlers: [handlerFor(faultSection, (v) => new FaultHandler(v.failLoadFile))],
});
