/**
 * The top level of the configuration file: server settings.
 *
 * @module
 */

import { cpus } from "node:os";
import {
  boolean,
  choice,
  dataType,
  groupName,
  integer,
  pathInExistingDir,
  seconds,
  userName,
} from "../datatypes.ts";
import { ConfigValueError } from "../errors.ts";
import { defineSection } from "../schema.ts";

/** Where the control socket is unless `control-socket` says otherwise (see the systemd unit). */
export const DEFAULT_CONTROL_SOCKET = "/run/dhcpkit/dhcpkit.sock";
/** Where the PID file is unless `pid-file` says otherwise (see the systemd unit). */
export const DEFAULT_PID_FILE = "/run/dhcpkit/dhcpkit.pid";

/** Typed top-level settings. */
export interface ServerValues {
  /** User to run as. */
  user: string;
  /** Group to run as; undefined = the user's primary group. */
  group?: string;
  /** Where the main process writes its PID. */
  pidFile: string;
  /** Path of the control socket. */
  controlSocket: string;
  /** Owner of the control socket; undefined = the process owner. */
  controlSocketUser?: string;
  /** Group of the control socket; undefined = the owner's primary group. */
  controlSocketGroup?: string;
  /** Number of worker threads; 0 = handle requests in the main thread. */
  workers: number;
  /** How UDP is received and sent: `deno` (Deno.listenDatagram) or `ffi` (libc, Linux). */
  ioBackend: "auto" | "deno" | "ffi";
  /**
   * How long an I/O thread waits after a batch before receiving again, in seconds, or `auto`
   * (see {@link batchDelaySeconds}).
   */
  ioBatchDelay: number | "auto";
  /** ffi backend: whether replies to one destination may leave as one segmented send (UDP GSO). */
  ioUdpGso: boolean;
  /** How long a request waits for a handler's asynchronous lookup, in seconds. */
  lookupTimeout: number;
  /** Requests that may wait for lookups at the same time, per worker. */
  maxLookupsInFlight: number;
  /** Whether rapid commit is allowed when a client asks for it. */
  allowRapidCommit: boolean;
  /** Whether rapid commit is also used for responses that refuse the request. */
  rapidCommitRejections: boolean;
  /** Whether answers to Information-requests may be reused for other clients. */
  reuseAnswers: boolean;
  /** Length of the window in which unexpected errors are counted, in seconds. */
  exceptionWindow: number;
  /** More unexpected errors than this within the window restart a worker (or stop the server). */
  maxExceptions: number;
  /** A worker silent (no heartbeat) for this long is replaced, in seconds. */
  workerHeartbeatTimeout: number;
  /** Extension modules imported before the configuration is validated, in file order. */
  extensions: string[];
}

/**
 * With `io-batch-delay auto`, the `ffi` backend's I/O threads wait at most this long, in seconds,
 * and at least half of it: longer while the reply delays they measure show that a longer wait
 * keeps requests in time and gathers more.
 */
export const AUTO_BATCH_DELAY_FFI = 0.001;

/**
 * With `io-batch-delay auto`, the `deno` backend (which cannot see when the kernel received a
 * datagram) waits this long, in seconds.
 */
export const AUTO_BATCH_DELAY_DENO = 0.0005;

/**
 * The `io-batch-delay` of `backend` in seconds: the fixed delay, or for `auto` the most the
 * `ffi` backend's guard may wait or the `deno` backend's fixed delay.
 */
export function batchDelaySeconds(value: number | "auto", backend: "ffi" | "deno"): number {
  if (value !== "auto") return value;
  return backend === "ffi" ? AUTO_BATCH_DELAY_FFI : AUTO_BATCH_DELAY_DENO;
}

/** `auto` or a number of seconds. */
const secondsOrAuto = dataType<number | "auto">(
  "seconds or auto",
  (t, ctx) => t.toLowerCase() === "auto" ? "auto" : seconds.parse(t, ctx),
  "`auto` or a number of seconds, fractions allowed",
);

/** A module to import: a path (relative to the file it is written in) or a URL-like specifier. */
const moduleSpecifier = dataType(
  "module",
  (t) => {
    if (t === "" || /\s/.test(t)) {
      throw new ConfigValueError("expected one module path or specifier without spaces");
    }
    return t;
  },
  "a path relative to the folder of the file it is written in, an absolute path, or a " +
    "`file:`, `https:`, `npm:` or `jsr:` specifier",
);

function cpuCount(): number {
  try {
    return Math.max(1, navigator.hardwareConcurrency || cpus().length);
  } catch {
    return 1;
  }
}

/** The root section: keys written at the top of the file, outside any section. */
export const serverSection = defineSection<ServerValues>({
  type: "server",
  kind: "root",
  description:
    "Settings written at the top level of the file, outside any section. They control the " +
    "process itself: which account it runs as, where it keeps its PID file and control socket, " +
    "how many workers handle requests and how it reacts to unexpected errors. The top level " +
    "also holds the logging, statistics and server DUID sections, the listeners, and the " +
    "filters and handlers that build responses.",
  example: [
    "user dhcpkit",
    "group dhcpkit",
    "workers 4",
    "",
    "<duid-ll server-id>",
    "    hardware-type 1",
    "    link-layer-address 00:24:36:ef:1d:89",
    "</duid-ll>",
    "",
    "<listen-unicast 2001:db8::1 />",
    "",
    "<recursive-name-servers>",
    "    address 2001:db8::53",
    "</recursive-name-servers>",
  ].join("\n"),
  keys: [
    {
      name: "user",
      type: userName,
      default: "nobody",
      description: "The account the server switches to after binding its sockets.",
      example: "dhcpkit",
    },
    {
      name: "group",
      type: groupName,
      defaultText: "the primary group of `user`",
      description: "The group the server switches to after binding its sockets.",
      example: "dhcpkit",
    },
    {
      name: "pid-file",
      type: pathInExistingDir,
      default: DEFAULT_PID_FILE,
      description: "File in which the main process records its process ID. The folder must " +
        "exist; only for the default path does the server create `/run/dhcpkit` when it is missing.",
      example: "/var/run/ipv6-dhcpd.pid",
    },
    {
      name: "control-socket",
      type: pathInExistingDir,
      default: DEFAULT_CONTROL_SOCKET,
      description: "Path of the Unix socket through which `dhcpkit ctl` talks to the running " +
        "server. The folder must exist; only for the default path does the server create " +
        "`/run/dhcpkit` when it is missing. The original's `/var/run/ipv6-dhcpd.sock` works " +
        "when given here.",
      example: "/var/run/ipv6-dhcpd.sock",
    },
    {
      name: "control-socket-user",
      type: userName,
      defaultText: "the user that starts the server",
      description: "Account that owns the control socket.",
      example: "root",
    },
    {
      name: "control-socket-group",
      type: groupName,
      defaultText: "the primary group of the socket's owner",
      description: "Group that owns the control socket.",
      example: "adm",
    },
    {
      name: "workers",
      type: integer(0, 1024),
      defaultFrom: cpuCount,
      defaultText: "the number of CPUs of the machine",
      description: "How many worker threads process requests. With the `ffi` I/O backend (the " +
        "default on Linux, see `io-backend`) each of them receives, answers and sends requests " +
        "itself; 0 means one, and no more run than the CPUs the process may use. With the " +
        "`deno` backend the main thread receives and hands requests to them; 0 means the main " +
        "thread handles them itself.",
      example: "4",
    },
    {
      name: "io-backend",
      type: choice("I/O backend", ["auto", "deno", "ffi"] as const),
      default: "auto",
      description: "How the server receives and sends UDP. `ffi` (Linux on x86_64 or aarch64, " +
        "allowed with `--allow-ffi`) makes the sockets through the system C library: every " +
        "worker thread waits on the same sockets, receives requests in batches, answers them and " +
        "sends the replies in batches, so no packet is handed between threads. It costs about " +
        "a third less CPU per request than `deno` and gives every socket a 4 MB receive buffer, " +
        "so bursts are not dropped; `workers 0` means one such thread. `deno` uses Deno's own " +
        "sockets and works everywhere: the main thread receives and hands requests to the " +
        "workers. `auto` (the default) picks `ffi` when it can be used in this process and " +
        "`deno` otherwise; the log says which. With `ffi` chosen explicitly the server refuses " +
        "to start where it cannot be used. Listeners, statistics, logging, reload and the " +
        "control socket behave the same with both. TCP listeners always use Deno's sockets.",
      example: "ffi",
    },
    {
      name: "io-batch-delay",
      type: secondsOrAuto,
      default: "auto",
      description: "When requests arrive one by one, an I/O thread (with the `deno` " +
        "backend and `workers 0`: the main thread) that has answered one (or two) waits this " +
        "long (in seconds, at most 0.1) before it receives again, so that the requests " +
        "arriving meanwhile are received, answered and sent together. Under steady load that " +
        "saves a wake-up and several system calls on most requests, at the price of at most " +
        "this much extra delay; DHCPv6 clients wait a second or more before they retransmit. " +
        "A request that finds the thread idle is answered at once, and requests that already " +
        "arrive in groups are not held back. With the `ffi` backend, requests that wait for a " +
        "lookup (a database) belong to the round they arrived in: the wait comes after they " +
        "are answered. 0 turns the wait off. `auto` (the default): with the `ffi` backend each " +
        "I/O thread starts at 0.0005 (which kept the 99th percentile of the reply delay under " +
        "2 ms on a busy virtual machine, bench/load/PROFILE.md, round seven) and measures every " +
        "request's delay from the kernel's receive to the reply's send. While hardly any " +
        "request is late (over 1.9 ms) it lengthens the wait, up to 0.001; when requests come " +
        "as a steady stream (the requests a wait gathers keep arriving until its end) it goes " +
        "to 0.001 at once and then waits before every receive, so the stream costs one " +
        "wake-up per millisecond. When more than 0.8 % of the requests take over 1.9 ms and " +
        "the wait made more than 0.2 % late (without it they would have been in time), it " +
        "first stops waiting before every receive, then halves the wait, never below 0.0005; " +
        "when requests come in bursts (they arrive just after a wait began) it goes back to " +
        "0.0005, since a longer wait would only hold the bursts back. A server's first second " +
        "is not judged (round seventeen). With the `deno` backend, which cannot see when the " +
        "kernel received a request, `auto` is 0.0005.",
      example: "0.0005",
    },
    {
      name: "io-udp-gso",
      type: boolean,
      default: true,
      description: "With the `ffi` backend, replies that leave together for the same address " +
        "and port with the same length (the answers to one relay, say) are handed to the " +
        "kernel as one UDP segmentation offload (GSO) send, which the kernel or the network " +
        "card splits into the same datagrams that separate sends would have made, at a " +
        "fraction of the work per datagram. Only replies of at most 1,232 bytes are combined, " +
        "so no segment needs more than the minimum IPv6 MTU. Where the kernel refuses it " +
        "(no checksum offload on the route, IPsec) that socket's replies are sent one by one " +
        "from then on and the log says so once; kernels older than 4.18, or where a check at " +
        "start-up finds that two segments do not arrive as two datagrams, never get one. " +
        "Replies to one address may leave in another order than they were made, which DHCPv6 " +
        "does not depend on. As with TCP " +
        "segmentation offload, a packet capture on the server's own machine may show such a " +
        "send as one large datagram although the wire carries the separate ones; `no` sends " +
        "every reply on its own.",
      example: "no",
    },
    {
      name: "lookup-timeout",
      type: seconds,
      default: 1.0,
      description: "How long a request may wait for the asynchronous lookups of its handlers " +
        "(a database or a RADIUS server answering), in seconds. A request whose lookup does not " +
        "answer in time, or fails, gets no answer at all (the client retries), rather than an " +
        "answer made without what the lookup would have found; such requests are counted as " +
        "`lookup_timeouts` and `lookup_failures` in the statistics. Handlers without lookups " +
        "(static files, options) never wait.",
      example: "0.5",
    },
    {
      name: "max-lookups-in-flight",
      type: integer(1, 1_000_000),
      default: 1000,
      description: "How many requests may wait for lookups at the same time in each worker " +
        "(the main thread counts as one with `workers 0`). A request that would be one more is " +
        "dropped and counted as `lookup_overflows`, so a stalled database cannot fill the " +
        "memory. Waiting requests do not hold up the others: the worker goes on receiving and " +
        "answering meanwhile.",
      example: "5000",
    },
    {
      name: "allow-rapid-commit",
      type: boolean,
      default: false,
      description: "Answer a Solicit that carries the Rapid Commit option with a Reply straight " +
        "away (two-message exchange).",
      example: "yes",
    },
    {
      name: "rapid-commit-rejections",
      type: boolean,
      default: false,
      description: "Also use rapid commit when the answer refuses some of the requested " +
        "addresses or prefixes. When off, such Solicits get a normal Advertise.",
      example: "yes",
    },
    {
      name: "reuse-answers",
      type: boolean,
      default: true,
      description: "Answer an Information-request by copying the answer another client got " +
        "for the same question (the same options, through the same relays, on the same " +
        "listener) and writing in this client's transaction id, DUID and address, instead of " +
        "running the handlers again. Only where every filter and handler of the configuration " +
        "declares that it answers such requests alike, as the built-in ones that do so " +
        "declare; with any other in the configuration (rate limiting, RADIUS, pools, most " +
        "extensions) every answer is made the full way. A reused answer is the same, byte for byte, and counted the same in the " +
        "statistics; the server checks this on another client before it reuses an answer and " +
        "again now and then, and stops reusing (with a warning) if a check finds a difference. " +
        "Requests " +
        "are answered the full way anyway while debug logging is on or the web UI records " +
        "transactions. `no` runs the handlers for every request.",
      example: "no",
    },
    {
      name: "exception-window",
      type: seconds,
      default: 10.0,
      description: "Length in seconds of the sliding window in which unexpected errors while " +
        "handling requests are counted.",
      example: "10.0",
    },
    {
      name: "max-exceptions",
      type: integer(0, 1_000_000),
      default: 5,
      description: "When more unexpected errors than this happen within `exception-window` in " +
        "one worker, that worker is stopped and replaced by a fresh one (counted as " +
        "`worker_restarts`); errors of the main thread beyond this shut the server down instead " +
        "of going on in a broken state. The server also shuts down when a replacement worker " +
        "fails to start three times in a row.",
      example: "5",
    },
    {
      name: "worker-heartbeat-timeout",
      type: seconds,
      default: 30.0,
      description: "Every worker signals that it is alive several times a second. One that " +
        "stays silent this long (it exited, or a handler hangs) is stopped and replaced by a " +
        "fresh one, counted as `worker_restarts`. Keep it longer than the slowest handler " +
        "initialisation (loading large data files), in seconds.",
      example: "30",
    },
    {
      name: "extension",
      property: "extensions",
      type: moduleSpecifier,
      multiple: true,
      default: [],
      description: "A module that extends the server with its own options, handlers and section " +
        "types. It is imported before the rest of the file is checked, so the sections it adds " +
        "can be used anywhere in the file; it is imported in every worker too. Give it once " +
        "per module. `%import MODULE` means the same. A relative path is resolved against the " +
        "folder of the file the key is written in. A compiled executable can only import " +
        "modules built into it: compose extensions into it with `compile.sh --extension` " +
        "instead.",
      example: "/etc/dhcpkit/extensions/acme.ts",
    },
  ],
  validate: (section, check) => {
    if (section.values.lookupTimeout <= 0 || section.values.lookupTimeout > 60) {
      check.error(
        `lookup-timeout ${section.values.lookupTimeout} must be more than 0 and at most 60 seconds`,
        section.keyLines["lookup-timeout"],
      );
    }
    if (section.values.workerHeartbeatTimeout < 1) {
      check.error(
        `worker-heartbeat-timeout ${section.values.workerHeartbeatTimeout} is shorter than 1 second`,
        section.keyLines["worker-heartbeat-timeout"],
      );
    }
    if (section.values.ioBatchDelay !== "auto" && section.values.ioBatchDelay > 0.1) {
      check.error(
        `io-batch-delay ${section.values.ioBatchDelay} is longer than 0.1 seconds`,
        section.keyLines["io-batch-delay"],
      );
    }
  },
  contains: [
    { kind: "logging", max: 1 },
    { kind: "statistics", max: 1 },
    { kind: "duid", max: 1 },
    { kind: "listener" },
    { kind: "filter" },
    { kind: "handler" },
    { kind: "metrics", max: 1 },
    { kind: "web-ui", max: 1 },
  ],
});
