/**
 * `dhcpkit leasequery`: a Leasequery (RFC 5007) / Bulk Leasequery (RFC 5460) test client.
 *
 * Sends one LEASEQUERY (client-id DUID-EN 40208 "LeaseQueryTester", random transaction id) and
 * prints every answer as one JSON line (the same JSON as `dhcpkit decode`). Over UDP it binds
 * port 546 (needs root) and waits for replies; over TCP (`--tcp`) it reads length-framed
 * messages until a LEASEQUERY-REPLY without client data, a LEASEQUERY-DONE, or the timeout.
 * @module
 */

import { CommandError, UsageError } from "./errors.ts";
import { parseDuidString } from "./duid_arg.ts";
import { consoleOutput, runCommand } from "./run.ts";
import { LEASEQUERY } from "./usage/commands.ts";
import {
  addressKind,
  ClientDataOption,
  ClientIdOption,
  describeMessage,
  DHCPV6_CLIENT_PORT,
  EnterpriseDuid,
  fromHex,
  IAAddressOption,
  isIPv6,
  isLinkScoped,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LQQueryOption,
  LQRelayDataOption,
  type Message,
  normalizeIPv6,
  type Option,
  OptionRequestOption,
  parseIPv6,
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
import { hostInterfaces } from "../src/config/host_interfaces.ts";

export { parseDuidString };

/** The requestor's own DUID. */
export const REQUESTOR_DUID = new EnterpriseDuid(
  40208,
  new TextEncoder().encode("LeaseQueryTester"),
);

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
  if (spec.relayData) options.push(new OptionRequestOption([LQRelayDataOption.code]));
  if (!isIPv6(spec.linkAddress)) throw new Error(`not an IPv6 address: ${spec.linkAddress}`);
  const id = xid ?? crypto.getRandomValues(new Uint8Array(3)).reduce((a, b) => a * 256 + b, 0);
  return new LeasequeryMessage(id, [
    new ClientIdOption(REQUESTOR_DUID),
    new LQQueryOption(queryType, normalizeIPv6(spec.linkAddress), options),
  ]);
}

/** The default interface: the first non-loopback one with a link-local address. */
function defaultInterface(): string | undefined {
  return hostInterfaces().find((i) => i.name !== "lo" && i.linkLocal.length > 0)?.name;
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
    port: DHCPV6_CLIENT_PORT,
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
export function leasequeryCommand(args: string[]): Promise<number> {
  return runCommand(LEASEQUERY, args, consoleOutput, async (parsed) => {
    const port = parsed.integer("port", 1, 65535);
    const timeout = parsed.seconds("timeout");
    const [type, ...queryArgs] = parsed.positionals;
    let request: LeasequeryMessage;
    try {
      request = buildLeasequery({
        type,
        args: queryArgs,
        linkAddress: parsed.string("link-address")!,
        relayData: parsed.flag("relay-data"),
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (parsed.count("verbosity") > 0) {
      console.error(JSON.stringify(describeMessage(request)));
    }
    let server = parsed.string("server")!;
    if (!isIPv6(server)) {
      throw new UsageError(`--server must be an IPv6 address, not ${JSON.stringify(server)}`);
    }
    const serverBytes = parseIPv6(server);
    const multicast = addressKind(serverBytes) === "multicast";
    const tcp = parsed.flag("tcp");
    if (tcp && multicast) throw new UsageError("--tcp needs a unicast server address");
    if (isLinkScoped(serverBytes)) {
      const iface = parsed.string("interface") ?? defaultInterface();
      if (!iface) throw new UsageError("no interface with a link-local address; use --interface");
      server = `${server}%${iface}`;
    }
    const print = (m: Message) => console.log(JSON.stringify(describeMessage(m)));
    try {
      return tcp
        ? await queryTcp(server, port, request, timeout * 1000, print)
        : await queryUdp(server, port, request, timeout * 1000, multicast, print);
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      if (e instanceof Deno.errors.AddrInUse) {
        throw new CommandError("port 546 is in use (a DHCPv6 client runs here?); try --tcp");
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new CommandError("binding port 546 needs root; run as root or use --tcp");
      }
      if (e instanceof Deno.errors.ConnectionRefused) {
        throw new CommandError(
          `no leasequery listener on [${server}]:${port} (connection refused)`,
        );
      }
      throw e;
    }
  });
}
