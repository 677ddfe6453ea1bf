/**
 * The whole request path as a fuzz target: bytes → `Engine.handle` (parse, bundle, filters,
 * handlers, built-in handlers) → reply bytes, with a configuration like an ISP's (relays marked
 * and filtered by subnet and subnet group, static assignments from CSV, rate limiting, timing
 * limits, information options, leasequery with an SQLite store, rapid commit, server unicast).
 *
 * Each case gets random receive metadata (listener marks, link address, source, multicast or
 * not). A case fails when handling throws, ends as `handling_error` (an unexpected exception in
 * a handler), waits for a lookup (nothing here may), or produces a reply that does not parse,
 * does not re-serialise to the same bytes, or is not a message a server sends.
 * @module
 */

import {
  ClientIdOption,
  fromHex,
  InterfaceIdOption,
  type Message,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  serializeMessage,
  toHex,
} from "../../src/protocol/mod.ts";
import { Engine, loadServerConfig } from "../../src/server/engine.ts";
import type { IncomingPacket } from "../../src/pipeline/mod.ts";
import type { Prng } from "./fuzz.ts";

/** Message types a server sends (Advertise, Reply, Reconfigure, Relay-Reply, leasequery). */
const SERVER_TYPES = new Set([2, 7, 10, 13, 15, 16, 17]);

const SERVER_DUID = fromHex("0002000098d0" + "6468636b6974");

/** The configuration: `DIR` is replaced by the target's temporary folder. */
const CONFIG = `
allow-rapid-commit yes
<duid-en server-id>
    enterprise-number 40208
    identifier 64:68:63:70:6b:69:74
</duid-en>
<statistics>
    subnet 2001:db8:100::/40
    relay 2001:db8:ffff::1
    interface eth0
</statistics>
<preference>
    level 255
</preference>
<rate-limit>
    key remote-id
    rate 100000
    per 1
    burst 100000
</rate-limit>
<domain-search-list>
    domain-name customers.example.net
</domain-search-list>
<ntp-servers>
    server-fqdn ntp.example.net
    server-address 2001:db8:123::1
</ntp-servers>
<iana-timing-limits>
    min-t1 30m
    max-t1 12h
    min-t2 45m
    max-t2 21h
</iana-timing-limits>
<iapd-timing-limits>
    min-t1 1h
    max-t1 1d
    min-t2 90m
    max-t2 42h
</iapd-timing-limits>
<sol-max-rt>
    limit 3600
</sol-max-rt>
<leasequery>
    allow-from 2001:db8:ffff:1::/64
    sensitive-option sip-servers-address-list
    <lq-sqlite DIR/leasequery.sqlite />
</leasequery>
<copy-remote-id/>
<copy-subscriber-id/>
<copy-linklayer-id/>
<marked-with relayed>
    <subnet 2001:db8:100::/40>
        <recursive-name-servers>
            address 2001:db8:53::1
        </recursive-name-servers>
        <subnet-group>
            prefix 2001:db8:1f0::/44
            <sip-server-addresses>
                address 2001:db8:5060::1
            </sip-server-addresses>
            <sip-server-names>
                domain-name sip.example.net
            </sip-server-names>
        </subnet-group>
        <static-csv DIR/static.csv>
            address-preferred-lifetime 1d
            address-valid-lifetime 7d
        </static-csv>
    </subnet>
    <subnet-group>
        prefix 2001:db8:100::/40
        match outside
        <ignore-request/>
    </subnet-group>
</marked-with>
<marked-with direct>
    <server-unicast>
        address 2001:db8:ffff::547
    </server-unicast>
    <static-csv DIR/static.csv />
</marked-with>
`;

/** Random receive metadata choices. */
const MARKS: readonly (readonly string[])[] = [["relayed"], ["direct"], ["unmarked"], []];
const LINKS = ["::", "2001:db8:100::1", "2001:db8:1f0::1", "2001:db8:300::1", "fe80::1"];
const SOURCES = ["fe80::1", "2001:db8:ffff::1", "2001:db8:ffff:1::5", "2001:db8:100::99", "::1"];
const INTERFACES = ["eth0", "eth1", ""];

/** What the whole-path target counts. */
export interface PipelineCounts {
  /** Cases answered with at least one reply. */
  answered: number;
  /** Cases handled without a reply (dropped, ignored, rate limited, not for us). */
  silent: number;
}

/** The whole request path as a fuzz target. */
export class PipelineTarget {
  /** Outcome counts. */
  readonly counts: PipelineCounts = { answered: 0, silent: 0 };

  private constructor(readonly engine: Engine, readonly dir: string) {}

  /**
   * Build the engine in a temporary folder: a CSV assigning an address and prefix to every
   * client DUID, interface-id and remote-id found in `seeds`.
   */
  static async create(seeds: readonly Uint8Array[]): Promise<PipelineTarget> {
    // In memory where possible: the leasequery store's disk syncs (WAL checkpoints) would
    // otherwise show up as "slow cases" that say nothing about the code.
    let shm = false;
    try {
      shm = Deno.statSync("/dev/shm").isDirectory;
    } catch {
      // no /dev/shm
    }
    const dir = Deno.makeTempDirSync({
      prefix: "dhcpkit-fuzz-",
      dir: shm ? "/dev/shm" : undefined,
    });
    const ids = new Set<string>();
    for (const seed of seeds) collectIds(seed, ids);
    let n = 0;
    const rows = [...ids].map((id) => {
      n++;
      const hex = n.toString(16);
      return `${id},2001:db8:100::${hex},2001:db8:1${hex.padStart(2, "0").slice(-2)}::/48`;
    });
    Deno.writeTextFileSync(`${dir}/static.csv`, ["id,address,prefix", ...rows, ""].join("\n"));
    const config = loadServerConfig(`${dir}/dhcpkit.conf`, CONFIG.replaceAll("DIR", dir), false);
    const engine = await Engine.create(config, SERVER_DUID);
    return new PipelineTarget(engine, dir);
  }

  /**
   * Seeds that reach deep into the pipeline: each client message of `seeds` also wrapped in a
   * Relay-Forward from the customer link with an Interface-ID and a Remote-ID.
   */
  static relayedSeeds(seeds: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const seed of seeds) {
      let message: Message;
      try {
        message = parseMessage(seed);
      } catch {
        continue;
      }
      if (message.type === 12 || SERVER_TYPES.has(message.type)) continue;
      const relay = new RelayForwardMessage(0, "2001:db8:100::1", "fe80::1", [
        new InterfaceIdOption(new TextEncoder().encode("ge-0/0/1")),
        new RemoteIdOption(9, new TextEncoder().encode("modem-1")),
        new RelayMessageOption(message),
      ]);
      out.push(serializeMessage(relay));
    }
    return out;
  }

  /** Run one case with metadata drawn from `rng`; returns a problem, or undefined. */
  check(input: Uint8Array, rng: Prng): string | undefined {
    const packet: IncomingPacket = {
      data: input,
      source: SOURCES[rng.below(SOURCES.length)],
      sourcePort: rng.chance(0.5) ? 547 : 546,
      interfaceName: INTERFACES[rng.below(INTERFACES.length)],
      linkAddress: LINKS[rng.below(LINKS.length)],
      receivedOverMulticast: rng.chance(0.5),
      receivedOverTcp: rng.chance(0.05),
      marks: MARKS[rng.below(MARKS.length)],
      id: "#FUZZ",
    };
    let result;
    try {
      result = this.engine.handle(packet);
    } catch (e) {
      return `the pipeline threw ${e instanceof Error ? `${e.name}: ${e.message}` : e}`;
    }
    if (result instanceof Promise) {
      result.catch(() => {});
      return "the pipeline waited for a lookup (nothing in this configuration should)";
    }
    if (result.outcome === "handling_error") return "unexpected error while handling (see log)";
    if (result.replies.length === 0) {
      this.counts.silent++;
      return undefined;
    }
    this.counts.answered++;
    for (const reply of result.replies) {
      let parsed: Message;
      try {
        parsed = parseMessage(reply.data);
      } catch (e) {
        return `the reply does not parse (${(e as Error).message}): ${toHex(reply.data)}`;
      }
      if (!SERVER_TYPES.has(parsed.type)) return `the reply has type ${parsed.type}`;
      const again = serializeMessage(parsed);
      if (toHex(again) !== toHex(reply.data)) return `the reply does not re-serialise`;
    }
    return undefined;
  }

  /** Close the engine and remove the temporary folder. */
  async close(): Promise<void> {
    await this.engine.handler.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** The canonical static ids of the client in `bytes` (DUID, and relay ids), into `ids`. */
function collectIds(bytes: Uint8Array, ids: Set<string>): void {
  let message: Message;
  try {
    message = parseMessage(bytes);
  } catch {
    return;
  }
  for (let depth = 0; depth < 8; depth++) {
    for (const o of message.options) {
      if (o instanceof ClientIdOption) ids.add(`duid:${o.duid.toHex()}`);
      if (o instanceof InterfaceIdOption) ids.add(`interface-id:${toHex(o.data)}`);
    }
    const inner = message.options.find((o) => o instanceof RelayMessageOption) as
      | RelayMessageOption
      | undefined;
    if (!inner) return;
    message = inner.message;
  }
}
