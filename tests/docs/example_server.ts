/**
 * Running the shipped example configurations for real: each is copied into a test's temporary
 * folder with the few changes a test host needs, started with `dhcpkit serve` in a network
 * namespace that has the example's own addresses and interface names, and asked what the example
 * is meant for by scapy (`tests/e2e/scapy_client.py`), as a relay or a directly attached client.
 *
 * The adaptation is mechanical, so the configuration under test is the shipped one:
 * - `user`, `group`, `control-socket-user` and `control-socket-group` become `root` (the host has
 *   no `dhcpkit` account, and the temporary folder belongs to root);
 * - absolute paths below /var, /run, /etc, /srv or /opt (PID file, control socket, databases, log
 *   files) move into the folder `state` of the temporary folder, keeping their file names; like
 *   /var/lib/dhcpkit under the systemd unit it is writable by the server's user (an example
 *   without `user` runs as `nobody`, the default);
 * - words that name a file next to the example (`assignments.csv`, `./mod.ts`) become absolute
 *   paths, so the copy reads the shipped files; `/opt/dhcpkit/` (where the examples assume a
 *   checkout) is this repository;
 * - a `<syslog>` without a destination sends to a Unix socket in the temporary folder (the test
 *   can read it; nothing reaches the host's syslog).
 * Addresses, interface names, ports and everything else stay as shipped.
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { describeMessage, parseMessage } from "../../src/protocol/mod.ts";
import {
  type ManagedProcess,
  PYTHON,
  REPO_ROOT,
  SERVER_PERMISSIONS,
  sleep,
  type Topology,
} from "../e2e/netns.ts";

/** The scapy test client. */
export const SCAPY_CLIENT = new URL("../e2e/scapy_client.py", import.meta.url).pathname;

/** A JSON object as `describeMessage` produces it. */
export type Json = Record<string, unknown>;

/** An example configuration made runnable on the test host. */
export interface AdaptedConfig {
  /** The adapted text. */
  text: string;
  /** One line per change, `LINE: old -> new`, so a failure shows how little was changed. */
  changes: string[];
}

/** A host path, alone or after a scheme such as `unix:`. */
const HOST_PATH = /^([a-z]+:)?(\/(var|run|etc|srv|opt)\/\S*)$/;
/** Where the examples assume a checkout of dhcpkit. */
const CHECKOUT = "/opt/dhcpkit/";
const ACCOUNT_KEY = /^(\s*)(user|group|control-socket-user|control-socket-group)(\s+)(\S+)\s*$/;

/** The folder that stands in for the host's state and run folders. */
export function stateDir(tempDir: string): string {
  return join(tempDir, "state");
}

/** The Unix socket a `<syslog>` without destination is sent to. */
export function syslogSocket(tempDir: string): string {
  return join(stateDir(tempDir), "syslog.sock");
}

/**
 * Adapt the text of an example configuration from `exampleDir` so it runs with its files in
 * `tempDir` (see the module documentation for the rules).
 */
export function adaptConfig(text: string, exampleDir: string, tempDir: string): AdaptedConfig {
  const changes: string[] = [];
  const lines = text.split("\n").map((line, i) => {
    if (/^\s*#/.test(line)) return line;
    let out = line;
    const account = ACCOUNT_KEY.exec(out);
    if (account && account[4] !== "root") {
      out = `${account[1]}${account[2]}${account[3]}root`;
    }
    out = out.replace(/[^\s<>]+/g, (word) => {
      if (word.startsWith(CHECKOUT)) return join(REPO_ROOT, word.slice(CHECKOUT.length));
      const host = HOST_PATH.exec(word);
      if (host) return (host[1] ?? "") + join(stateDir(tempDir), basename(host[2]));
      if (word.startsWith("/") || word.includes(":")) return word;
      const candidate = resolve(exampleDir, word);
      return existsSync(candidate) && statSync(candidate).isFile() ? candidate : word;
    });
    out = out.replace(/^(\s*)<syslog\s*(\/?)>/, `$1<syslog ${syslogSocket(tempDir)} $2>`);
    if (out !== line) changes.push(`${i + 1}: ${line.trim()} -> ${out.trim()}`);
    return out;
  });
  return { text: lines.join("\n"), changes };
}

/**
 * Create the state folder, writable by every user like /tmp, and let other users pass through
 * the temporary folder to it (the server drops root before it opens databases and log files).
 */
export async function prepareState(tempDir: string): Promise<void> {
  await Deno.mkdir(stateDir(tempDir), { recursive: true });
  await Deno.chmod(stateDir(tempDir), 0o1777);
  await Deno.chmod(tempDir, 0o711);
}

/** What {@link startExample} needs besides the configuration file. */
export interface ExampleStart {
  /** Namespace the server runs in. */
  namespace: string;
  /** The program's entry file (default `cli/main.ts`; a custom entry for composed extensions). */
  entry?: string;
  /** Text to use instead of the file's (an example embedded in a Markdown file). */
  text?: string;
}

/** A started example server. */
export interface ExampleServer {
  /** The server process (its stderr holds the debug log). */
  process: ManagedProcess;
  /** The adapted configuration file. */
  configPath: string;
  /** How the configuration was adapted. */
  adapted: AdaptedConfig;
}

/**
 * Adapt the example configuration `file` (relative to the repository), write it into the
 * topology's temporary folder and start `dhcpkit serve -vvv` on it in `namespace`; resolves once
 * the server is ready. The PID file and control socket are also passed with `-p` and `-c`, so
 * nothing on the host is touched whatever the example sets.
 */
export async function startExample(
  t: Topology,
  file: string,
  options: ExampleStart,
): Promise<ExampleServer> {
  const source = join(REPO_ROOT, file);
  const text = options.text ?? await Deno.readTextFile(source);
  const adapted = adaptConfig(text, dirname(source), t.tempDir);
  const name = basename(file).replace(/\.[a-z]+$/, "");
  const configPath = t.path(`${name}.conf`);
  await Deno.writeTextFile(configPath, adapted.text);
  await prepareState(t.tempDir);
  const process = t.spawn(options.namespace, Deno.execPath(), [
    "run",
    ...SERVER_PERMISSIONS,
    options.entry ?? "cli/main.ts",
    "serve",
    "-vvv",
    "-p",
    t.path(`${name}.serve.pid`),
    "-c",
    t.path(`${name}.serve.sock`),
    configPath,
  ], `dhcpkit serve ${file}`);
  try {
    await process.waitFor(/Ready to handle requests/, 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nadapted: ${adapted.changes.join("; ")}`);
  }
  return { process, configPath, adapted };
}

/**
 * A server namespace whose interface `srv0` has `serverAddress`/64 (the example's unicast
 * listener), joined to a relay namespace whose `rly0` has `relayAddress`/64 in the same network.
 * With `requestor`, a third namespace (`lq0`, that address/64) is joined to the server's `srv1`
 * and routed both ways over link-local next hops, as a provisioning system on its own network.
 */
export async function unicastTopology(
  t: Topology,
  serverAddress: string,
  relayAddress: string,
  requestor?: string,
): Promise<{ srv: string; rly: string; lq?: string }> {
  const srv = await t.namespace("srv");
  const rly = await t.namespace("rly");
  await t.link(srv, "srv0", rly, "rly0");
  await t.address(srv, "srv0", `${serverAddress}/64`);
  await t.address(rly, "rly0", `${relayAddress}/64`);
  let lq: string | undefined;
  if (requestor) {
    lq = await t.namespace("lq");
    await t.link(srv, "srv1", lq, "lq0");
    await t.address(lq, "lq0", `${requestor}/64`);
    const srvLL = await t.linkLocal(srv, "srv1");
    await t.linkLocal(lq, "lq0");
    await t.exec(srv, "ip", ["-6", "route", "add", `${requestor}/64`, "dev", "srv1"]);
    await t.exec(lq, "ip", [
      "-6",
      "route",
      "add",
      `${serverAddress}/64`,
      "via",
      srvLL,
      "dev",
      "lq0",
    ]);
  }
  await t.linkLocal(srv, "srv0");
  await t.linkLocal(rly, "rly0");
  await t.settled(srv, "srv0");
  await t.settled(rly, "rly0");
  return { srv, rly, lq };
}

/** One request for scapy_client.py (see its documentation for the message spec). */
export interface Case {
  /** Name to find the replies by. */
  name: string;
  /** Destination address. */
  dst: string;
  /** Interface for multicast and link-local destinations. */
  iface?: string;
  /** Local port to send from (547 for relays). */
  from_port?: number;
  /** The message to build. */
  message: Json;
  /** Seconds to wait for replies. */
  timeout?: number;
}

/**
 * Send the cases from namespace `ns`; resolves with each case's replies, decoded by dhcpkit and
 * with every relay-reply layer removed (the client message), by case name.
 */
export async function sendCases(
  t: Topology,
  ns: string,
  cases: Case[],
): Promise<Map<string, Json[]>> {
  const out = new Map<string, Json[]>();
  for (const [name, replies] of await sendCasesAsSent(t, ns, cases)) {
    out.set(name, replies.map(innermost));
  }
  return out;
}

/** Like {@link sendCases}, with the replies as they arrived (relay-reply layers included). */
export async function sendCasesAsSent(
  t: Topology,
  ns: string,
  cases: Case[],
): Promise<Map<string, Json[]>> {
  const r = await t.exec(ns, PYTHON, [SCAPY_CLIENT, "cases"], { stdin: JSON.stringify(cases) });
  const out = new Map<string, Json[]>();
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const result = JSON.parse(line) as { name: string; replies: { hex: string }[] };
    out.set(result.name, result.replies.map((reply) => decodeHex(reply.hex)));
  }
  return out;
}

/** Decode a message given as hex. */
export function decodeHex(hex: string): Json {
  return describeMessage(
    parseMessage(Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)))),
  );
}

/** The message inside every relay-reply layer. */
export function innermost(m: Json): Json {
  let inner = m;
  while (inner.type === "relay-reply") inner = option(inner, 9)!.message as Json;
  return inner;
}

/** The options of a message or container option. */
export const optionsOf = (m: Json): Json[] => (m.options ?? []) as Json[];

/** The first option with `code`, if any. */
export const option = (m: Json, code: number): Json | undefined =>
  optionsOf(m).find((o) => o.code === code);

/** The one reply of a case; fails when there is none or more than one. */
export function onlyReply(replies: Map<string, Json[]>, name: string): Json {
  const got = replies.get(name) ?? [];
  assert.equal(got.length, 1, `${name}: exactly one answer (got ${got.length})`);
  return got[0];
}

/** Assert that a case got no answer at all. */
export function assertSilence(replies: Map<string, Json[]>, name: string): void {
  const got = replies.get(name) ?? [];
  assert.deepEqual(got.map((m) => m.type), [], `${name}: no answer`);
}

/** The addresses in the IA_NAs of `m`. */
export function addressesIn(m: Json): string[] {
  return optionsOf(m).filter((o) => o.code === 3).flatMap((ia) =>
    optionsOf(ia).filter((o) => o.code === 5).map((o) => o.address as string)
  );
}

/** The prefixes (`PREFIX/LEN`) in the IA_PDs of `m`. */
export function prefixesIn(m: Json): string[] {
  return optionsOf(m).filter((o) => o.code === 25).flatMap((ia) =>
    optionsOf(ia).filter((o) => o.code === 26).map((o) => `${o.prefix}/${o.prefix_length}`)
  );
}

/** The lifetimes of an IA's address or prefix option. */
export function lifetimesIn(m: Json, iaCode: 3 | 25): [number, number][] {
  return optionsOf(m).filter((o) => o.code === iaCode).flatMap((ia) =>
    optionsOf(ia).filter((o) => o.code === 5 || o.code === 26).map((
      o,
    ) => [o.preferred_lifetime as number, o.valid_lifetime as number] as [number, number])
  );
}

/** The status code inside the IA of `code`, if any. */
export function iaStatus(m: Json, code: 3 | 25): unknown {
  const ia = option(m, code);
  return ia ? option(ia, 13)?.status_code : undefined;
}

/** The DNS servers (option 23) of `m`, or `undefined`. */
export const dnsServers = (m: Json): unknown => option(m, 23)?.addresses;

/** The domain search list (option 24) of `m`, or `undefined`. */
export const searchList = (m: Json): unknown => option(m, 24)?.domain_names;

/**
 * A relayed request: `type` from a DUID-LL client with `mac` (or `duid` hex), one relay layer
 * with `link` and the relay options in `relay`, sent from port 547 to `dst`.
 */
export function relayed(
  name: string,
  dst: string,
  type: string,
  link: string,
  extra: { mac?: string; duid?: string; relay?: Json; message?: Json } = {},
): Case {
  return {
    name,
    dst,
    from_port: 547,
    message: {
      type,
      xid: Math.floor(Math.random() * 0xffffff),
      client_mac: extra.mac ?? "02:00:00:00:00:99",
      ...(extra.duid ? { client_duid: extra.duid } : {}),
      oro: [23, 24],
      ...(type === "solicit" || type === "request"
        ? { ia_na: [{ iaid: 1 }], ia_pd: [{ iaid: 2 }] }
        : {}),
      ...extra.message,
      relays: [{ hop: 0, link, peer: "fe80::abcd", ...extra.relay }],
    },
  };
}

/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The info string after the fence (`conf file=...`, `sh`, or empty). */
  info: string;
  /** Line of the opening fence. */
  line: number;
  /** The block's text, with a final newline. */
  text: string;
}

/** Every fenced code block of a Markdown file (relative to the repository). */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = Deno.readTextFileSync(join(REPO_ROOT, file)).split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    blocks.push({ info: open[1].trim(), line: start + 1, text: body.join("\n") + "\n" });
  }
  return blocks;
}

/** The one code block of `file` whose text matches `pattern`. */
export function codeBlock(file: string, pattern: RegExp): CodeBlock {
  const found = codeBlocks(file).filter((b) => pattern.test(b.text));
  assert.equal(found.length, 1, `${file}: one code block matching ${pattern}`);
  return found[0];
}

/** Datagrams received on a Unix datagram socket (a stand-in for /dev/log). */
export class SyslogCollector {
  /** Every datagram received so far, as text. */
  readonly messages: string[] = [];
  readonly #socket: Deno.DatagramConn;
  readonly #done: Promise<void>;

  /**
   * Listen on `path` (removed again by {@link SyslogCollector.close}); any user may send to it.
   * Its folder must exist ({@link prepareState}).
   */
  constructor(readonly path: string) {
    const socket = Deno.listenDatagram({ transport: "unixpacket", path });
    Deno.chmodSync(path, 0o666);
    this.#socket = socket;
    this.#done = (async () => {
      try {
        for await (const [data] of socket) this.messages.push(new TextDecoder().decode(data));
      } catch {
        // closed
      }
    })();
  }

  /** Wait until a message matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.messages.find((m) => pattern.test(m));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no syslog message matches ${pattern}: ${this.messages.slice(-5)}`);
      }
      await sleep(100);
    }
  }

  /** Stop listening. */
  async close(): Promise<void> {
    this.#socket.close();
    await this.#done;
    await Deno.remove(this.path).catch(() => {});
  }
}
