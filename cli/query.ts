/**
 * `dhcpkit query`: send one request to a server, as a relay would (Relay-Forward with a Relay
 * Source Port option, RFC 8357, so no root is needed), and print the reply as JSON.
 * @module
 */

import { consoleUsage, parseCommandArgs } from "./args.ts";
import {
  ClientIdOption,
  describeMessage,
  ElapsedTimeOption,
  fromHex,
  IANAOption,
  IAPDOption,
  InformationRequestMessage,
  LinkLayerDuid,
  type Message,
  type Option,
  OptionRequestOption,
  parseMessage,
  RapidCommitOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  serializeMessage,
  SolicitMessage,
} from "../src/protocol/mod.ts";

const USAGE = `usage: dhcpkit query [--server ADDR] [--port N] [--link-address ADDR] [--duid HEX]
                     [--oro CODES] [--rapid-commit] [--timeout SECONDS] TYPE

Send one request as a relay agent would and print the reply (JSON) on stdout.
TYPE is information-request (default) or solicit (asks for an address and a prefix).

options:
  --server ADDR         server address (default ::1)
  --port N              server port (default 547)
  --link-address ADDR   link address the relay layer claims (default 2001:db8::1)
  --duid HEX            client DUID (default a DUID-LL of 02:00:00:00:00:01)
  --oro CODES           comma-separated option codes to request (default 23,24,31)
  --rapid-commit        ask for rapid commit (solicit)
  --timeout SECONDS     how long to wait for the reply (default 3)`;

/** Build the client request. */
export function buildRequest(
  type: string,
  duidHex: string | undefined,
  oro: number[],
  rapid: boolean,
): Message {
  const xid = crypto.getRandomValues(new Uint8Array(3)).reduce((a, b) => a * 256 + b, 0);
  const duid = duidHex
    ? new ClientIdOption(LinkLayerDuid.parse(fromHex(duidHex), 2, fromHex(duidHex).length))
    : new ClientIdOption(new LinkLayerDuid(1, fromHex("020000000001")));
  const options: Option[] = [duid, new OptionRequestOption(oro), new ElapsedTimeOption(0)];
  if (type === "solicit") {
    options.push(new IANAOption(1, 0, 0), new IAPDOption(1, 0, 0));
    if (rapid) options.push(new RapidCommitOption());
    return new SolicitMessage(xid, options);
  }
  if (type === "information-request") return new InformationRequestMessage(xid, options);
  throw new Error(`unsupported request type ${JSON.stringify(type)}`);
}

/** Run the `query` subcommand. */
export async function queryCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: "string", default: "::1" },
      port: { type: "string", default: "547" },
      "link-address": { type: "string", default: "2001:db8::1" },
      duid: { type: "string" },
      oro: { type: "string", default: "23,24,31" },
      "rapid-commit": { type: "boolean" },
      timeout: { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
  }, consoleUsage("dhcpkit query", USAGE));
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  let request: Message;
  try {
    const oro = values.oro!.split(",").filter(Boolean).map((c) => Number(c));
    request = buildRequest(
      positionals[0] ?? "information-request",
      values.duid,
      oro,
      values["rapid-commit"] ?? false,
    );
  } catch (e) {
    console.error(`dhcpkit query: ${(e as Error).message}`);
    return 2;
  }
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  const relay = new RelayForwardMessage(0, values["link-address"]!, "fe80::1", [
    new RelaySourcePortOption(0),
    new RelayMessageOption(request),
  ]);
  try {
    await socket.send(serializeMessage(relay), {
      transport: "udp",
      hostname: values.server!,
      port: Number(values.port),
    });
    const timer = setTimeout(() => socket.close(), Number(values.timeout) * 1000);
    try {
      const [data] = await socket.receive();
      clearTimeout(timer);
      console.log(JSON.stringify(describeMessage(parseMessage(data))));
      return 0;
    } catch {
      console.error(
        `dhcpkit query: no reply from [${values.server}]:${values.port} within ${values.timeout} s (local port ${port})`,
      );
      return 1;
    }
  } finally {
    try {
      socket.close();
    } catch {
      // closed by the timer
    }
  }
}
