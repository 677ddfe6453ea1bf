/**
 * Helpers for the leasequery tests: a handler that hands out fixed leases, query builders and a
 * pipeline with the leasequery extension's built-in handlers.
 * @module
 */

import { Handler, type MessageHandler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  AdvertiseMessage,
  ClientIdOption,
  DomainSearchListOption,
  EnterpriseDuid,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  LeasequeryMessage,
  LinkLayerDuid,
  LQQueryOption,
  type Option,
  RebindMessage,
  RecursiveNameServersOption,
  RenewMessage,
  ReplyMessage,
  RequestMessage,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import {
  leasequeryCleanupHandlers,
  leasequerySetupHandlers,
} from "../../src/handlers/leasequery/handler.ts";
import { pipeline } from "../pipeline/helpers.ts";
import { TcpListener, type TcpListenerSettings } from "../../src/server/tcp_listener.ts";
import { createSchema, openDatabase } from "../../src/handlers/leasequery/sqlite.ts";
import { expandIPv6 } from "../../src/handlers/leasequery/store.ts";

/** The leases the test server hands out to one client. */
export interface Assignment {
  /** Address for IA_NA. */
  address?: string;
  /** Prefix for IA_PD. */
  prefix?: string;
  /** Its length. */
  prefixLength?: number;
}

/** A static-like handler: answers IA_NA / IA_PD from a DUID-hex keyed table. */
export class AssignHandler extends Handler {
  /** Lifetimes handed out. */
  preferred = 3600;
  /** Lifetimes handed out. */
  valid = 7200;

  /** Create the handler with its table. */
  constructor(readonly table: Map<string, Assignment>) {
    super();
  }

  /** Answer the IAs and add DNS servers and a domain list. */
  override handle(bundle: TransactionBundle): void {
    const r = bundle.request;
    if (
      !(r instanceof SolicitMessage || r instanceof RequestMessage || r instanceof RenewMessage ||
        r instanceof RebindMessage)
    ) return;
    if (!(bundle.response instanceof ReplyMessage || bundle.response instanceof AdvertiseMessage)) {
      return;
    }
    const a = this.table.get(bundle.clientDuid?.toHex() ?? "");
    if (!a) return;
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      if (!a.address) continue;
      bundle.response.options.push(
        new IANAOption(ia.iaid, 0, 0, [
          new IAAddressOption(a.address, this.preferred, this.valid),
        ]),
      );
      bundle.markHandled(ia);
    }
    for (const ia of bundle.getUnhandledOptions(IAPDOption)) {
      if (!a.prefix) continue;
      bundle.response.options.push(
        new IAPDOption(ia.iaid, 0, 0, [
          new IAPrefixOption(this.preferred, this.valid, a.prefixLength ?? 56, a.prefix),
        ]),
      );
      bundle.markHandled(ia);
    }
    bundle.response.options.push(
      new RecursiveNameServersOption(["2001:db8::53"]),
      new DomainSearchListOption(["example.com."]),
    );
  }
}

/** A pipeline with the extension's setup/cleanup handlers. */
export function lqPipeline(handlers: Handler[]): MessageHandler {
  return pipeline(handlers, [], {
    setupHandlers: leasequerySetupHandlers(),
    cleanupHandlers: leasequeryCleanupHandlers(),
  });
}

/** The requestor's DUID. */
export const REQUESTOR = new EnterpriseDuid(40208, new TextEncoder().encode("LeaseQueryTester"));

/** A LEASEQUERY message. */
export function leasequery(
  queryType: number,
  linkAddress = "::",
  queryOptions: Option[] = [],
  xid = 0x123456,
): LeasequeryMessage {
  return new LeasequeryMessage(xid, [
    new ClientIdOption(REQUESTOR),
    new LQQueryOption(queryType, linkAddress, queryOptions),
  ]);
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = Deno.makeTempDirSync({ prefix: "dhcpkit-lq-" });
  return { path, remove: () => Deno.removeSync(path, { recursive: true }) };
}

/** Fill an lq-sqlite database with `count` clients on `link`, each with one address. */
export function seedClients(
  path: string,
  count: number,
  o: {
    link?: string;
    remoteId?: string;
    optionBytes?: Uint8Array;
    validFor?: number;
    first?: number;
  } = {},
): void {
  const db = openDatabase(path, 5000);
  createSchema(db);
  const now = Math.floor(Date.now() / 1000);
  const link = expandIPv6(o.link ?? "2001:db8:1::1");
  const insertClient = db.prepare(
    "INSERT INTO clients (client_id, link_address, options, last_interaction, relay_data) " +
      "VALUES (?, ?, ?, ?, NULL) RETURNING id",
  );
  const insertAddress = db.prepare(
    "INSERT INTO addresses (client_fk, address, preferred_lifetime_end, valid_lifetime_end, " +
      "options) VALUES (?, ?, ?, ?, NULL)",
  );
  const insertRemote = db.prepare("INSERT INTO remote_ids (client_fk, remote_id) VALUES (?, ?)");
  db.exec("BEGIN IMMEDIATE");
  const first = o.first ?? 0;
  for (let i = first; i < first + count; i++) {
    const duid = new LinkLayerDuid(
      1,
      new Uint8Array([2, 0, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]),
    );
    const { id } = insertClient.get(duid.toHex(), link, o.optionBytes ?? null, now) as {
      id: number;
    };
    const address = `2001:db8:1:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
    insertAddress.run(id, expandIPv6(address), now + 3600, now + (o.validFor ?? 7200));
    if (o.remoteId) insertRemote.run(id, o.remoteId);
  }
  db.exec("COMMIT");
  db.close();
}

/** Frame a message for TCP (2-byte length). */
export function frame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + data.length);
  out[0] = data.length >> 8;
  out[1] = data.length & 0xff;
  out.set(data, 2);
  return out;
}

/** Reads length-framed messages from a TCP connection. */
export class FrameReader {
  #buffer = new Uint8Array(1 << 17);
  #filled = 0;

  /** Wrap `conn`. */
  constructor(readonly conn: Deno.Conn) {}

  /** The next message's bytes, or null at end of stream. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#filled >= 2) {
        const length = (this.#buffer[0] << 8) | this.#buffer[1];
        if (this.#filled >= 2 + length) {
          const out = this.#buffer.slice(2, 2 + length);
          this.#buffer.copyWithin(0, 2 + length, this.#filled);
          this.#filled -= 2 + length;
          return out;
        }
      }
      const n = await this.conn.read(this.#buffer.subarray(this.#filled));
      if (n === null) return null;
      this.#filled += n;
    }
  }
}

/** A TCP leasequery listener on [::1] at a free port with test settings, overridable. */
export function testTcpListener(settings: Partial<TcpListenerSettings> = {}): TcpListener {
  return new TcpListener({
    address: "::1",
    port: 0,
    maxConnections: 10,
    allowFrom: [],
    marks: ["unmarked"],
    interfaceName: "lo",
    idleTimeout: 5000,
    sendTimeout: 5000,
    ...settings,
  });
}
