/**
 * `dhcpkit query`: send one request to a server as a relay agent would (Relay-Forward with a
 * Relay Source Port option, RFC 8357, so no root is needed) and print the reply, as a readable
 * summary or (`--json`) as the JSON line `dhcpkit decode` prints.
 *
 * Request, renew and release must name the server. Without `--server-duid`, query first sends a
 * Solicit (same client, same relay options) and takes the Server Identifier of the Advertise;
 * when no `--address`/`--prefix` is given, the request types that carry leases use the IAs that
 * Advertise offered. That is what a client does, so checking a customer needs only its DUID.
 * @module
 */

import { CommandError, UsageError } from "./errors.ts";
import { consoleOutput, runCommand } from "./run.ts";
import { QUERY, QUERY_TYPES } from "./usage/commands.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import {
  CARRIES_LEASES,
  clientMessage,
  type ClientMessageSpec,
  NEEDS_SERVER_ID,
  offeredIas,
  type QueryType,
  relayForward,
} from "../src/tools/client_messages.ts";
import { summarize } from "./query/summary.ts";
import {
  addressValue,
  codesValue,
  duidValue,
  interfaceIdValue,
  prefixValue,
  remoteIdValue,
  subscriberIdValue,
} from "./query/values.ts";
import {
  ClientServerMessage,
  describeMessage,
  type Duid,
  type Message,
  type Option,
  parseMessage,
  RelayMessage,
  RelayMessageOption,
  serializeMessage,
  ServerIdOption,
} from "../src/protocol/mod.ts";

/** The client DUID query uses unless `--duid` says otherwise (a DUID-LL of 02:00:00:00:00:01). */
export const DEFAULT_CLIENT_DUID_HEX: string = QUERY.options.find((o) => o.long === "duid")!
  .default!;

/**
 * Build a client request the way `dhcpkit query TYPE` does without addresses (kept for the
 * benchmarks): `duidHex` is sent as given (default: the DUID-LL of 02:00:00:00:00:01).
 */
export function buildRequest(
  type: string,
  duidHex: string | undefined,
  oro: number[],
  rapid: boolean,
): Message {
  if (!(QUERY_TYPES as readonly string[]).includes(type)) {
    throw new Error(`unsupported request type ${JSON.stringify(type)}`);
  }
  const duid = duidValue("duid", duidHex ?? DEFAULT_CLIENT_DUID_HEX);
  return clientMessage({
    type: type as QueryType,
    duid,
    serverDuid: NEEDS_SERVER_ID.has(type as QueryType) ? duid : undefined,
    addresses: [],
    prefixes: [],
    oro,
    rapidCommit: rapid,
  });
}

/** Where the requests go and how long to wait. */
interface Target {
  server: string;
  port: number;
  timeoutMs: number;
  linkAddress: string;
  relayOptions: Option[];
}

/** What came back for one request. */
interface Answer {
  /** The whole reply as received (Relay-Reply). */
  reply: Message;
  /** The client message inside it. */
  inner: ClientServerMessage;
  /** `[address]:port` it came from. */
  from: string;
}

/** The client message inside a relayed reply. */
function innermost(message: Message): Message {
  let m = message;
  while (m instanceof RelayMessage) {
    const inner = m.getOption(RelayMessageOption)?.message;
    if (!inner) return m;
    m = inner;
  }
  return m;
}

/** Send `request` relayed to the target; the reply with its transaction id, if one comes. */
async function exchange(target: Target, request: ClientServerMessage): Promise<Answer | undefined> {
  if (typeof Deno.listenDatagram !== "function") {
    throw new CommandError("Deno's UDP sockets need --unstable-net (deno.json sets it)");
  }
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::", port: 0 });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket.close();
  }, target.timeoutMs);
  try {
    const relay = relayForward(request, target.linkAddress, target.relayOptions);
    try {
      await socket.send(serializeMessage(relay), {
        transport: "udp",
        hostname: target.server,
        port: target.port,
      });
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      const message = (e as Error).message;
      if (/lookup address|not known/i.test(message)) {
        throw new CommandError(`unknown host ${target.server}`);
      }
      throw new CommandError(
        `cannot send to [${target.server}]:${target.port}: ${
          message.replace(/ \(os error \d+\)/, "")
        }`,
      );
    }
    for (;;) {
      let data: Uint8Array, addr: Deno.Addr;
      try {
        [data, addr] = await socket.receive();
      } catch (e) {
        if (timedOut) return undefined;
        throw e;
      }
      let reply: Message;
      try {
        reply = parseMessage(data);
      } catch {
        continue; // not ours, or garbage: keep waiting
      }
      const inner = innermost(reply);
      if (inner instanceof ClientServerMessage && inner.transactionId === request.transactionId) {
        const { hostname, port } = addr as Deno.NetAddr;
        return { reply, inner, from: `[${hostname}]:${port}` };
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      socket.close();
    } catch {
      // closed by the timer
    }
  }
}

/** The client message spec from the command line (IAs and server DUID may still be missing). */
function specOf(parsed: ParsedArgs): ClientMessageSpec {
  const type = parsed.positionals[0] ?? "information-request";
  if (!(QUERY_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`TYPE must be one of ${QUERY_TYPES.join(", ")}, not ${type}`);
  }
  const serverDuid = parsed.string("server-duid");
  return {
    type: type as QueryType,
    duid: duidValue("duid", parsed.string("duid")!),
    serverDuid: serverDuid === undefined ? undefined : duidValue("server-duid", serverDuid),
    addresses: parsed.list("address").map((a) => addressValue("address", a)),
    prefixes: parsed.list("prefix").map((p) => prefixValue("prefix", p)),
    oro: codesValue("oro", parsed.string("oro")!),
    rapidCommit: parsed.flag("rapid-commit"),
  };
}

/** The target from the command line. */
function targetOf(parsed: ParsedArgs): Target {
  const relayOptions: Option[] = [];
  const interfaceId = parsed.string("interface-id");
  if (interfaceId !== undefined) relayOptions.push(interfaceIdValue(interfaceId));
  const remoteId = parsed.string("remote-id");
  if (remoteId !== undefined) relayOptions.push(remoteIdValue(remoteId));
  const subscriberId = parsed.string("subscriber-id");
  if (subscriberId !== undefined) relayOptions.push(subscriberIdValue(subscriberId));
  const server = parsed.string("server")!;
  if (server === "") throw new UsageError("--server must not be empty");
  return {
    server: server.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.integer("port", 1, 65535),
    timeoutMs: parsed.seconds("timeout") * 1000,
    linkAddress: addressValue("link-address", parsed.string("link-address")!),
    relayOptions,
  };
}

/** What a first Solicit taught: the server's DUID and the IAs it offered. */
interface Learned {
  serverDuid?: Duid;
  ias: Option[];
  note: string;
}

/** Send a Solicit to learn the server's DUID and offer; {@link CommandError} without answer. */
async function learn(target: Target, spec: ClientMessageSpec): Promise<Learned> {
  const solicit = clientMessage({
    ...spec,
    type: "solicit",
    rapidCommit: false,
    transactionId: undefined,
  }) as ClientServerMessage;
  const answer = await exchange(target, solicit);
  if (!answer) {
    throw new CommandError(
      `no answer to the Solicit sent first (to learn the server's DUID and offer) from ` +
        `[${target.server}]:${target.port} within ${target.timeoutMs / 1000} s; ` +
        "give --server-duid (and --address/--prefix)",
    );
  }
  const serverDuid = answer.inner.getOption(ServerIdOption)?.duid;
  const ias = offeredIas(answer.inner);
  const offered = ias.length > 0 ? "" : ", offering nothing";
  return {
    serverDuid,
    ias,
    note: `(first a Solicit: ${answer.inner.name} from server ${
      serverDuid?.toHex() ?? "without a DUID"
    }${offered})`,
  };
}

/** Run the `query` subcommand. */
export function queryCommand(args: string[]): Promise<number> {
  return runCommand(QUERY, args, consoleOutput, async (parsed) => {
    const spec = specOf(parsed);
    const target = targetOf(parsed);
    const json = parsed.flag("json");
    const given = spec.addresses.length > 0 || spec.prefixes.length > 0;
    const needsDuid = NEEDS_SERVER_ID.has(spec.type) && !spec.serverDuid;
    const needsLeases = CARRIES_LEASES.has(spec.type) && !given;
    if (needsDuid || needsLeases) {
      const learned = await learn(target, spec);
      if (!json) console.log(learned.note);
      if (needsDuid) {
        if (!learned.serverDuid) throw new CommandError("the Advertise carried no server DUID");
        spec.serverDuid = learned.serverDuid;
      }
      if (needsLeases) {
        const onlyHeld = spec.type === "release" || spec.type === "confirm";
        if (learned.ias.length === 0 && onlyHeld) {
          throw new CommandError(
            `nothing to ${spec.type}: the server offered no address or prefix; ` +
              "give --address or --prefix",
          );
        }
        if (learned.ias.length > 0) spec.ias = learned.ias;
      }
    }
    const request = clientMessage(spec) as ClientServerMessage;
    const answer = await exchange(target, request);
    if (!answer) {
      throw new CommandError(
        `no reply from [${target.server}]:${target.port} within ${target.timeoutMs / 1000} s`,
      );
    }
    if (json) console.log(JSON.stringify(describeMessage(answer.reply)));
    else for (const line of summarize(answer.reply, answer.from)) console.log(line);
    return 0;
  });
}
