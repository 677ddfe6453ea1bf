/**
 * The handler of `<radius-assignments>`: its lookup asks RADIUS (or the cache) for the client's
 * assignment before the request is answered; its handle phase answers the IAs with what the
 * answer assigns, as a static assignment would (see `../static/answer.ts`), and puts the
 * answer's DNS servers in the reply.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { networkInterfaces } from "node:os";
import { lookup as resolveName } from "node:dns/promises";
import { Handler, shouldSend, type TransactionBundle } from "../../pipeline/mod.ts";
import { parseIPv6, RecursiveNameServersOption } from "../../protocol/mod.ts";
import { answerIAs, hasIAsToAnswer, type StaticLifetimes } from "../static/answer.ts";
import { noteAssignment } from "../static/in_scope.ts";
import { answerFrom, type RadiusAnswer } from "./answer.ts";
import { AnswerCache } from "./cache.ts";
import { RadiusClient, RadiusNoAnswerError, type RadiusServer } from "./client.ts";
import { Attr, type RadiusAttribute } from "./packet.ts";
import { queryFor, type RadiusQuery, type UserNameKind } from "./query.ts";
import { ipLiteral, type RadiusServerSpec } from "./section.ts";
import { RadiusStatistics } from "./stats.ts";

const log = getLogger(["dhcpkit", "radius"]);
const encoder = new TextEncoder();

/** Seconds between two warnings about requests dropped for want of an answer. */
export const WARNING_INTERVAL = 10;

/** Everything the handler needs from its section. */
export interface RadiusSettings {
  /** The servers in the order they are tried. */
  readonly servers: readonly RadiusServerSpec[];
  /** The shared secret, or where to read it. */
  readonly secret: { readonly text: string } | { readonly file: string };
  /** User-Name sources, first present wins. */
  readonly userName: readonly UserNameKind[];
  /** The User-Password. */
  readonly password: string;
  /** Seconds per try. */
  readonly timeout: number;
  /** Tries after the first, per server. */
  readonly retries: number;
  /** Seconds a silent server is tried last. */
  readonly deadTime: number;
  /** Seconds an answer is reused. */
  readonly cacheTtl: number;
  /** Most answers kept. */
  readonly cacheSize: number;
  /** Drop answers without a Message-Authenticator. */
  readonly requireMessageAuthenticator: boolean;
  /** NAS-Identifier. */
  readonly nasIdentifier: string;
  /** NAS address to send, when configured. */
  readonly nasAddress?: string;
  /** Lifetimes of what is assigned (a Session-Timeout lowers the valid ones). */
  readonly lifetimes: StaticLifetimes;
}

/** Read the first line of a secret file; throws an Error naming the file when it is unusable. */
export async function readSecretFile(path: string): Promise<string> {
  let content: string;
  try {
    content = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`cannot read the RADIUS secret file ${path}: ${(error as Error).message}`);
  }
  const secret = content.split("\n")[0].replace(/\r$/, "");
  if (secret === "") throw new Error(`the RADIUS secret file ${path} starts with an empty line`);
  return secret;
}

/** True for 127.0.0.0/8 and ::1. */
function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

/**
 * The NAS address sent to a server at `address`: the configured one, else the loopback address
 * for a server on loopback, else the first global address of the server's family on this host.
 */
export function nasAddressFor(address: string, configured?: string): string | undefined {
  if (configured) return configured;
  const v6 = address.includes(":");
  if (isLoopback(address)) return v6 ? "::1" : "127.0.0.1";
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === "IPv6") !== v6) continue;
      if (v6 && /^f[cde]/i.test(a.address)) continue; // link-local and unique local
      if (!v6 && a.address.startsWith("169.254.")) continue;
      return ipLiteral(a.address);
    }
  }
  return undefined;
}

/** The NAS-IP-Address or NAS-IPv6-Address attribute of an address. */
function nasAddressAttribute(address: string): RadiusAttribute {
  if (address.includes(":")) return { type: Attr.NasIpv6Address, value: parseIPv6(address) };
  return { type: Attr.NasIpAddress, value: new Uint8Array(address.split(".").map(Number)) };
}

/** Resolve a configured server to an address the client can send to. */
async function resolveServer(spec: RadiusServerSpec, nasAddress?: string): Promise<RadiusServer> {
  let address = ipLiteral(spec.host);
  if (!address) {
    try {
      address = ipLiteral((await resolveName(spec.host)).address);
    } catch (error) {
      throw new Error(`cannot resolve RADIUS server ${spec.host}: ${(error as Error).message}`);
    }
    if (!address) throw new Error(`cannot resolve RADIUS server ${spec.host}`);
  }
  const nas = nasAddressFor(address, nasAddress);
  return {
    address,
    port: spec.port,
    label: spec.label,
    attributes: nas ? [nasAddressAttribute(nas)] : [],
  };
}

/** The lifetimes after a Session-Timeout: valid ones capped, preferred ones not above them. */
export function cappedLifetimes(
  lifetimes: StaticLifetimes,
  sessionTimeout?: number,
): StaticLifetimes {
  if (sessionTimeout === undefined) return lifetimes;
  const addressValid = Math.min(lifetimes.addressValidLifetime, sessionTimeout);
  const prefixValid = Math.min(lifetimes.prefixValidLifetime, sessionTimeout);
  return {
    addressPreferredLifetime: Math.min(lifetimes.addressPreferredLifetime, addressValid),
    addressValidLifetime: addressValid,
    prefixPreferredLifetime: Math.min(lifetimes.prefixPreferredLifetime, prefixValid),
    prefixValidLifetime: prefixValid,
  };
}

/** See the module documentation. */
export class RadiusAssignmentHandler extends Handler {
  /** What this handler counted in this worker. */
  readonly statistics: RadiusStatistics = new RadiusStatistics();
  #client?: RadiusClient;
  #cache: AnswerCache<RadiusAnswer>;
  #password = new Uint8Array();
  #lastWarning = -Infinity;
  #droppedSinceWarning = 0;

  /** Create the handler; sockets are opened and names resolved in `workerInit`. */
  constructor(readonly settings: RadiusSettings) {
    super();
    this.#cache = new AnswerCache(settings.cacheTtl, settings.cacheSize);
  }

  /** The client (after `workerInit`), e.g. to read how many exchanges are in flight. */
  get client(): RadiusClient | undefined {
    return this.#client;
  }

  /** The answer cache. */
  get cache(): AnswerCache<RadiusAnswer> {
    return this.#cache;
  }

  /** Read the secret, resolve the servers and create the client of this worker. */
  override async workerInit(): Promise<void> {
    const s = this.settings;
    const secret = "text" in s.secret ? s.secret.text : await readSecretFile(s.secret.file);
    const servers = await Promise.all(s.servers.map((spec) => resolveServer(spec, s.nasAddress)));
    this.#client?.close();
    this.#cache = new AnswerCache(s.cacheTtl, s.cacheSize);
    this.#password = encoder.encode(s.password);
    for (const server of servers) this.statistics.server(server.label);
    this.#client = new RadiusClient({
      servers,
      secret: encoder.encode(secret),
      timeout: s.timeout,
      retries: s.retries,
      deadTime: s.deadTime,
      requireMessageAuthenticator: s.requireMessageAuthenticator,
      events: this.statistics,
    });
  }

  /** Close the sockets. */
  override close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  /**
   * Find the client's answer: from the cache (nothing to wait for: undefined), from an exchange
   * already in flight for the same question, or from a new exchange. The promise rejects when no
   * server answers, which drops the request.
   */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    if (!hasIAsToAnswer(bundle)) return undefined;
    const query = queryFor(bundle, this.settings.userName);
    if (!query) {
      log.debug("{bundle}: none of {kinds} present, not asking RADIUS", () => ({
        bundle: String(bundle),
        kinds: this.settings.userName.join(", "),
      }));
      return undefined;
    }
    const cached = this.#cache.get(query.key);
    if (cached) {
      if (bundle.explain) explainAnswer(bundle, query.userName, cached, "cached answer");
      else this.statistics.cacheHit();
      bundle.handlerData.set(this, cached);
      noteAssignment(bundle, cached.assignment);
      return undefined;
    }
    if (this.#cache.isPending(query.key) && !bundle.explain) this.statistics.shared();
    return this.#cache.fetch(query.key, () => this.#ask(query)).then(
      (answer) => {
        if (bundle.explain) explainAnswer(bundle, query.userName, answer, "answer");
        bundle.handlerData.set(this, answer);
        noteAssignment(bundle, answer?.assignment);
      },
      (error) => {
        if (error instanceof RadiusNoAnswerError) this.#dropped(error);
        throw error;
      },
    );
  }

  async #ask(query: RadiusQuery): Promise<RadiusAnswer> {
    const client = this.#client;
    if (!client) throw new Error("RADIUS assignments used before workerInit()");
    const attributes: RadiusAttribute[] = [
      { type: Attr.UserName, value: encoder.encode(query.userName) },
      { type: Attr.NasIdentifier, value: encoder.encode(this.settings.nasIdentifier) },
    ];
    if (query.callingStationId !== undefined) {
      attributes.push({
        type: Attr.CallingStationId,
        value: encoder.encode(query.callingStationId),
      });
    }
    if (query.nasPortId !== undefined) {
      attributes.push({ type: Attr.NasPortId, value: encoder.encode(query.nasPortId) });
    }
    const { answer, server } = await client.exchange(attributes, this.#password, answerFrom);
    log.debug("RADIUS {server} for {kind} {user}: {result}", () => ({
      server: server.label,
      kind: query.kind,
      user: query.userName,
      result: describe(answer),
    }));
    return answer;
  }

  #dropped(error: RadiusNoAnswerError): void {
    this.statistics.dropped();
    this.#droppedSinceWarning++;
    const now = performance.now();
    if (now - this.#lastWarning < WARNING_INTERVAL * 1000) return;
    log.warning("{message}: {count} requests dropped since the last warning", {
      message: error.message,
      count: this.#droppedSinceWarning,
    });
    this.#lastWarning = now;
    this.#droppedSinceWarning = 0;
  }

  /** Answer the IAs with the looked-up assignment, and add its DNS servers. */
  override handle(bundle: TransactionBundle): void {
    const answer = bundle.handlerData.get(this) as RadiusAnswer | undefined;
    if (!answer?.accepted) return;
    answerIAs(
      bundle,
      cappedLifetimes(this.settings.lifetimes, answer.sessionTimeout),
      () => answer.assignment,
    );
    if (
      answer.dnsServers.length > 0 && shouldSend(bundle, RecursiveNameServersOption.code, false)
    ) {
      const options = bundle.response.options;
      const option = new RecursiveNameServersOption([...answer.dnsServers]);
      const index = options.findIndex((o) => o.code === RecursiveNameServersOption.code);
      if (index < 0) options.push(option);
      else options[index] = option;
    }
  }
}

/** A short text of an answer for the log. */
function describe(answer: RadiusAnswer): string {
  if (!answer.accepted) return "reject";
  const parts = [
    answer.assignment.address ?? "no address",
    answer.assignment.prefix?.toString() ?? "no prefix",
  ];
  if (answer.dnsServers.length) parts.push(`DNS ${answer.dnsServers.join(" ")}`);
  if (answer.sessionTimeout !== undefined) parts.push(`Session-Timeout ${answer.sessionTimeout}`);
  return `accept: ${parts.join(", ")}`;
}

/** Tell explain what RADIUS answered for `userName`. */
function explainAnswer(
  bundle: TransactionBundle,
  userName: string,
  answer: RadiusAnswer,
  what: string,
): void {
  const { address, prefix } = answer.assignment;
  const parts = answer.accepted
    ? [
      "Access-Accept",
      `address ${address ?? "none"}`,
      `prefix ${prefix?.toString() ?? "none"}`,
      ...(answer.dnsServers.length ? [`DNS ${answer.dnsServers.join(", ")}`] : []),
      ...(answer.sessionTimeout !== undefined ? [`Session-Timeout ${answer.sessionTimeout}`] : []),
    ]
    : ["Access-Reject"];
  bundle.explain!.source({
    handler: "RadiusAssignmentHandler",
    source: "RADIUS",
    asked: [`User-Name ${userName}`],
    result: `${what}: ${parts.join(", ")}`,
  });
}
