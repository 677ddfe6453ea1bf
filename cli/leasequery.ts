/**
 * `dhcpkit leasequery`: a Leasequery (RFC 5007) / Bulk Leasequery (RFC 5460) test client.
 *
 * Sends one LEASEQUERY (client-id DUID-EN 40208 "LeaseQueryTester", random transaction id) and
 * prints every answer as one JSON line (the same JSON as `dhcpkit decode`). Over UDP it binds
 * port 546 (needs root) and waits for replies; over TCP (`--tcp`) it reads length-framed
 * messages until a LEASEQUERY-REPLY without client data, a LEASEQUERY-DONE, or the timeout.
 * @module
 */

import { consoleUsage, parseCommandArgs } from "./args.ts";
import {
  ClientDataOption,
  ClientIdOption,
  describeMessage,
  type Duid,
  duidFromBytes,
  EnterpriseDuid,
  fromHex,
  IAAddressOption,
  isIPv6,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  LinkLayerTimeDuid,
  LQQueryOption,
  type Message,
  normalizeIPv6,
  type Option,
  OptionRequestOption,
  parseMessage,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  RelayIdOption,
  RemoteIdOption,
  serializeMessage,
} from "../src/protocol/mod.ts";

const USAGE = `usage: dhcpkit leasequery [options] QUERY [ARGS...]

Send a leasequery and print the answers (one JSON line per message).

queries:
  client-address ADDRESS              the client holding ADDRESS (or a prefix containing it)
  client-id DUID                      the client with this DUID
  relay-id DUID                       clients behind the relay with this DUID (TCP only)
  link-address                        clients on --link-address (TCP only; :: = all)
  remote-id ENTERPRISE REMOTE-ID-HEX  clients with this relay Remote-ID (TCP only)

DUID: hex of the whole DUID, or enterprise:<number>:<0xhex or text>,
      linklayer:<hwtype>:<hex>, linklayer-time:<hwtype>:<time>:<hex>

options:
  -s, --server ADDR        server address (default ff02::1:2)
  -p, --port N             server port (default 547)
  -i, --interface NAME     interface for link-local/multicast servers (default: the first
                           non-loopback interface with a link-local address)
  -t, --tcp                bulk leasequery over TCP (needs a unicast server address)
  -L, --link-address ADDR  link address of the query (default ::)
  -R, --relay-data         ask for the relay data (ORO with option 47 in the query)
  -w, --timeout SECONDS    how long to wait for (more) answers (default 3)
  -h, --help               show this help`;

/** The requestor's own DUID. */
export const REQUESTOR_DUID = new EnterpriseDuid(
  40208,
  new TextEncoder().encode("LeaseQueryTester"),
);

/** Parse a DUID: plain hex, `enterprise:..`, `linklayer:..` or `linklayer-time:..`. */
export function parseDuidString(text: string): Duid {
  const [kind, ...rest] = text.split(":");
  const number = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s)) throw new Error(`bad ${what} in DUID ${text}`);
    return Number(s);
  };
  switch (kind.toLowerCase()) {
    case "enterprise": {
      if (rest.length < 2) throw new Error(`use enterprise:<number>:<identifier>, not ${text}`);
      const en = number(rest[0], "enterprise number");
      const id = rest.slice(1).join(":");
      const bytes = id.startsWith("0x") ? fromHex(id.slice(2)) : new TextEncoder().encode(id);
      return new EnterpriseDuid(en, bytes);
    }
    case "linklayer":
    case "link-layer":
      if (rest.length < 2) throw new Error(`use linklayer:<hwtype>:<hex>, not ${text}`);
      return new LinkLayerDuid(number(rest[0], "hardware type"), fromHex(rest.slice(1).join(":")));
    case "linklayer-time":
    case "link-layer-time":
      if (rest.length < 3) throw new Error(`use linklayer-time:<hwtype>:<time>:<hex>, not ${text}`);
      return new LinkLayerTimeDuid(
        number(rest[0], "hardware type"),
        number(rest[1], "time"),
        fromHex(rest.slice(2).join(":")),
      );
    default: {
      const bytes = fromHex(text);
      if (bytes.length < 2) throw new Error(`a DUID needs at least 2 bytes: ${text}`);
      return duidFromBytes(bytes);
    }
  }
}

/** What the command line asks for. */
export interface QuerySpec {
  /** Query subcommand. */
  type: string;
  /** Its arguments. */
  args: string[];
  /** Link address of the query. */
  linkAddress: string;
  /** Ask for relay data. */
  relayData: boolean;
}

/** Build the LEASEQUERY message. */
export function buildLeasequery(spec: QuerySpec, xid?: number): LeasequeryMessage {
  const need = (n: number, usage: string) => {
    if (spec.args.length !== n) throw new Error(`usage: ${spec.type} ${usage}`);
  };
  let queryType: number;
  const options: Option[] = [];
  switch (spec.type) {
    case "client-address":
      need(1, "ADDRESS");
      if (!isIPv6(spec.args[0])) throw new Error(`not an IPv6 address: ${spec.args[0]}`);
      queryType = QUERY_BY_ADDRESS;
      options.push(new IAAddressOption(normalizeIPv6(spec.args[0]), 0, 0));
      break;
    case "client-id":
      need(1, "DUID");
      queryType = QUERY_BY_CLIENTID;
      options.push(new ClientIdOption(parseDuidString(spec.args[0])));
      break;
    case "relay-id":
      need(1, "DUID");
      queryType = QUERY_BY_RELAY_ID;
      options.push(new RelayIdOption(parseDuidString(spec.args[0])));
      break;
    case "link-address":
      need(0, "");
      queryType = QUERY_BY_LINK_ADDRESS;
      break;
    case "remote-id": {
      need(2, "ENTERPRISE REMOTE-ID-HEX");
      if (!/^\d+$/.test(spec.args[0])) throw new Error(`bad enterprise number ${spec.args[0]}`);
      queryType = QUERY_BY_REMOTE_ID;
      options.push(new RemoteIdOption(Number(spec.args[0]), fromHex(spec.args[1])));
      break;
    }
    default:
      throw new Error(`unknown query ${JSON.stringify(spec.type)}`);
  }
  if (spec.relayData) options.push(new OptionRequestOption([47]));
  if (!isIPv6(spec.linkAddress)) throw new Error(`not an IPv6 address: ${spec.linkAddress}`);
  const id = xid ?? crypto.getRandomValues(new Uint8Array(3)).reduce((a, b) => a * 256 + b, 0);
  return new LeasequeryMessage(id, [
    new ClientIdOption(REQUESTOR_DUID),
    new LQQueryOption(queryType, normalizeIPv6(spec.linkAddress), options),
  ]);
}

/** The default interface: the first non-loopback one with a link-local address. */
function defaultInterface(): string | undefined {
  return Deno.networkInterfaces().find((i) =>
    i.family === "IPv6" && i.name !== "lo" && i.address.toLowerCase().startsWith("fe80")
  )?.name;
}

function needsScope(address: string): boolean {
  const a = address.toLowerCase();
  return a.startsWith("fe80") || a.startsWith("ff02");
}

/** Whether a TCP answer ends the conversation. */
function isLast(message: Message): boolean {
  if (message instanceof LeasequeryDoneMessage) return true;
  if (message instanceof LeasequeryReplyMessage) return !message.getOption(ClientDataOption);
  return false;
}

async function queryTcp(
  server: string,
  port: number,
  request: LeasequeryMessage,
  timeoutMs: number,
  print: (m: Message) => void,
): Promise<number> {
  const conn = await Deno.connect({ transport: "tcp", hostname: server, port });
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, timeoutMs);
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      conn.close();
    }, timeoutMs);
  };
  try {
    const data = serializeMessage(request);
    const framed = new Uint8Array(2 + data.length);
    framed[0] = data.length >> 8;
    framed[1] = data.length & 0xff;
    framed.set(data, 2);
    let off = 0;
    while (off < framed.length) off += await conn.write(framed.subarray(off));
    let buffer = new Uint8Array(65536 + 2);
    let filled = 0;
    let answers = 0;
    for (;;) {
      while (filled >= 2) {
        const length = (buffer[0] << 8) | buffer[1];
        if (filled < 2 + length) break;
        const message = parseMessage(buffer.subarray(2, 2 + length));
        buffer.copyWithin(0, 2 + length, filled);
        filled -= 2 + length;
        answers++;
        print(message);
        if (isLast(message)) return 0;
      }
      if (filled === buffer.length) {
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer);
        buffer = bigger;
      }
      let n: number | null;
      try {
        n = await conn.read(buffer.subarray(filled));
      } catch (e) {
        if (timedOut) break;
        throw e;
      }
      if (n === null) break;
      filled += n;
      bump();
    }
    if (timedOut) {
      console.error(`dhcpkit leasequery: no (complete) answer within ${timeoutMs / 1000} s`);
    } else if (answers === 0) {
      console.error("dhcpkit leasequery: the server closed the connection without answering");
    } else {
      console.error("dhcpkit leasequery: the server closed the connection before LEASEQUERY-DONE");
    }
    return 1;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

async function queryUdp(
  server: string,
  port: number,
  request: LeasequeryMessage,
  timeoutMs: number,
  multicast: boolean,
  print: (m: Message) => void,
): Promise<number> {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: "::",
    port: 546,
    reuseAddress: true,
  });
  let answers = 0;
  const timer = setTimeout(() => socket.close(), timeoutMs);
  try {
    await socket.send(serializeMessage(request), { transport: "udp", hostname: server, port });
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await socket.receive();
      } catch {
        break;
      }
      let message: Message;
      try {
        message = parseMessage(data);
      } catch {
        continue;
      }
      if (
        !(message instanceof LeasequeryReplyMessage) ||
        message.transactionId !== request.transactionId
      ) continue;
      answers++;
      print(message);
      if (!multicast) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      socket.close();
    } catch {
      // closed by the timer
    }
  }
  if (answers === 0) {
    console.error(`dhcpkit leasequery: no answer within ${timeoutMs / 1000} s`);
    return 1;
  }
  return 0;
}

/** Run the `leasequery` subcommand; returns the exit status. */
export async function leasequeryCommand(args: string[]): Promise<number> {
  const usage = consoleUsage("dhcpkit leasequery", USAGE);
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: "string", short: "s", default: "ff02::1:2" },
      port: { type: "string", short: "p", default: "547" },
      interface: { type: "string", short: "i" },
      tcp: { type: "boolean", short: "t" },
      "link-address": { type: "string", short: "L", default: "::" },
      "relay-data": { type: "boolean", short: "R" },
      timeout: { type: "string", short: "w", default: "3" },
      verbose: { type: "boolean", short: "v", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  }, usage);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    usage.error("which query?");
    return usage.errorStatus;
  }
  const port = Number(values.port);
  const timeout = Number(values.timeout);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !(timeout > 0)) {
    console.error("dhcpkit leasequery: bad --port or --timeout");
    return 2;
  }
  let request: LeasequeryMessage;
  try {
    request = buildLeasequery({
      type: positionals[0],
      args: positionals.slice(1),
      linkAddress: values["link-address"]!,
      relayData: values["relay-data"] ?? false,
    });
  } catch (e) {
    console.error(`dhcpkit leasequery: ${(e as Error).message}`);
    return 2;
  }
  let server = values.server!;
  if (!isIPv6(server)) {
    console.error(`dhcpkit leasequery: --server must be an IPv6 address, not ${server}`);
    return 2;
  }
  const multicast = server.toLowerCase().startsWith("ff");
  if (values.tcp && multicast) {
    console.error("dhcpkit leasequery: --tcp needs a unicast server address");
    return 2;
  }
  if (needsScope(server)) {
    const iface = values.interface ?? defaultInterface();
    if (!iface) {
      console.error("dhcpkit leasequery: no interface with a link-local address; use --interface");
      return 2;
    }
    server = `${server}%${iface}`;
  }
  const print = (m: Message) => console.log(JSON.stringify(describeMessage(m)));
  try {
    return values.tcp
      ? await queryTcp(server, port, request, timeout * 1000, print)
      : await queryUdp(server, port, request, timeout * 1000, multicast, print);
  } catch (e) {
    console.error(`dhcpkit leasequery: ${(e as Error).message}`);
    return 1;
  }
}
