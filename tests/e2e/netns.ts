/**
 * Test topologies for the end-to-end tests: uniquely named network namespaces joined by veth
 * pairs, commands run inside them, and the dhcpkit server started in one of them.
 *
 * Everything a topology creates (namespaces, processes, temporary files) is removed by
 * {@link Topology.close}, which {@link withTopology} always calls, also when the test fails.
 * Traffic only ever flows inside the namespaces made here (or over loopback).
 * @module
 */

import { SERVER_PERMISSIONS } from "../helpers/server.ts";

export { freeUdpPort, SERVER_PERMISSIONS } from "../helpers/server.ts";

/** The repository root (where `cli/main.ts` lives). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/** The Python interpreter that has scapy (the pyenv one on PATH does not). */
export const PYTHON = "/usr/bin/python3";

const decoder = new TextDecoder();

/** Result of a finished command. */
export interface RunResult {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Run a command to completion (outside any namespace); throws when `check` and it fails. */
export async function run(
  cmd: string,
  args: string[],
  options: { check?: boolean; stdin?: string; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if ((options.check ?? true) && result.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${result.code}: ${result.stderr || result.stdout}`,
    );
  }
  return result;
}

/** True when running as root. */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** True when `name` is an executable found on PATH (or in the sbin folders). */
export function hasCommand(name: string): boolean {
  if (name.startsWith("/")) {
    try {
      return Deno.statSync(name).isFile;
    } catch {
      return false;
    }
  }
  const path = (Deno.env.get("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** True when /usr/bin/python3 can import scapy. */
export function hasScapy(): boolean {
  if (!hasCommand(PYTHON)) return false;
  try {
    const out = new Deno.Command(PYTHON, {
      args: ["-c", "import scapy.layers.dhcp6"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success;
  } catch {
    return false;
  }
}

/** What an end-to-end test needs. */
export interface Needs {
  /** Needs root to create network namespaces. */
  root?: boolean;
  /** Commands it runs, with the Debian package that provides each. */
  commands?: Record<string, string>;
  /** Needs scapy for /usr/bin/python3. */
  scapy?: boolean;
}

/**
 * Why a test cannot run here, or `undefined` when it can. The reason is printed once so that a
 * skipped test says what is missing.
 */
export function missing(needs: Needs): string | undefined {
  const reasons: string[] = [];
  if (needs.root && !isRoot()) reasons.push("needs root to create network namespaces");
  if (needs.root && isRoot() && !hasCommand("ip")) reasons.push("needs ip (iproute2)");
  for (const [cmd, pkg] of Object.entries(needs.commands ?? {})) {
    if (!hasCommand(cmd)) reasons.push(`needs ${cmd} (${pkg})`);
  }
  if (needs.scapy && !hasScapy()) reasons.push("needs scapy for /usr/bin/python3 (python3-scapy)");
  return reasons.length ? reasons.join("; ") : undefined;
}

/**
 * Register a Deno test that is ignored, with a console note naming what is missing, when its
 * needs are not met.
 */
export function e2eTest(name: string, needs: Needs, fn: () => Promise<void>): void {
  const reason = missing(needs);
  if (reason) console.log(`note: skipping "${name}": ${reason}`);
  Deno.test({
    name,
    ignore: reason !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A random lowercase alphanumeric string. */
export function randomSuffix(length = 6): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** A spawned process whose output is collected as it arrives. */
export class ManagedProcess {
  /** Standard output so far. */
  stdout = "";
  /** Standard error so far. */
  stderr = "";
  /** Exit status, once it exited. */
  status?: Deno.CommandStatus;
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #waiters: (() => void)[] = [];

  /** Wrap a child spawned with piped stdout and stderr. */
  constructor(readonly label: string, child: Deno.ChildProcess) {
    this.#child = child;
    const pump = async (stream: ReadableStream<Uint8Array>, which: "stdout" | "stderr") => {
      const d = new TextDecoder();
      try {
        for await (const chunk of stream) {
          const text = d.decode(chunk, { stream: true });
          // Keep memory bounded for chatty processes.
          this[which] = (this[which] + text).slice(-4_000_000);
          this.#notify();
        }
      } catch {
        // stream closed
      }
    };
    this.#done = Promise.all([
      pump(child.stdout, "stdout"),
      pump(child.stderr, "stderr"),
      child.status.then((s) => {
        this.status = s;
      }),
    ]).then(() => this.#notify());
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** All output, stdout then stderr. */
  get output(): string {
    return this.stdout + this.stderr;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Wait until the output matches `pattern` (returns the match); throws after `timeoutMs` or when
   * the process exits without it.
   */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (this.status) {
        throw new Error(
          `${this.label} exited (${this.status.code}) before printing ${pattern}:\n${
            tail(this.output)
          }`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`${this.label} did not print ${pattern} in time:\n${tail(this.output)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wait until at least `n` output lines match `pattern`. */
  async waitForCount(pattern: RegExp, n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.countLines(pattern) < n) {
      if (Date.now() > deadline) {
        throw new Error(
          `${this.label}: fewer than ${n} lines match ${pattern}:\n${tail(this.output)}`,
        );
      }
      if (this.status) throw new Error(`${this.label} exited:\n${tail(this.output)}`);
      await sleep(100);
    }
  }

  /** How many output lines match `pattern`. */
  countLines(pattern: RegExp): number {
    return this.output.split("\n").filter((l) => pattern.test(l)).length;
  }

  /** Wait for the process to exit on its own (throws after `timeoutMs`). */
  async wait(timeoutMs = 30_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.label} still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.status!;
  }

  /** Send `signal`, wait up to `graceMs`, then kill; resolves once it exited. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 3000): Promise<void> {
    if (this.status) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
    const exited = await Promise.race([
      this.#done.then(() => true),
      sleep(graceMs).then(() => false),
    ]);
    if (!exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await Promise.race([this.#done, sleep(2000)]);
    }
  }
}

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** A dhcpkit server running in a namespace. */
export class ServerProcess extends ManagedProcess {
  /** The configuration file. */
  configPath = "";
  /** The PID file the configuration names. */
  pidFile = "";

  /** The log lines so far (stderr). */
  get log(): string {
    return this.stderr;
  }

  /** Count the log lines matching `pattern`. */
  count(pattern: RegExp): number {
    return this.log.split("\n").filter((l) => pattern.test(l)).length;
  }
}

/** Options for {@link Topology.startServer}. */
export interface ServerStart {
  /** Configuration body; `user`, `pid-file` and `control-socket` lines are prepended. */
  config: string;
  /** Namespace to run in; `undefined` runs on the host (for loopback-only tests). */
  namespace?: string;
  /** `-v` count (default 3: debug). */
  verbosity?: number;
  /** Milliseconds to wait for "Ready to handle requests" (default 20 s). */
  readyTimeoutMs?: number;
  /** Deno flags added to {@link SERVER_PERMISSIONS} (e.g. `--allow-ffi` for `io-backend ffi`). */
  denoFlags?: readonly string[];
}

/**
 * A set of namespaces, links and processes made for one test, with a temporary folder. Close it
 * (or use {@link withTopology}) to remove everything.
 */
export class Topology {
  /** The random part of every name this topology makes. */
  readonly id: string = randomSuffix();
  /** Namespaces made, in creation order. */
  readonly namespaces: string[] = [];
  /** Processes started. */
  readonly processes: ManagedProcess[] = [];
  #closed = false;

  /** Use {@link Topology.create}. */
  private constructor(readonly tempDir: string, readonly prefix = "dk") {}

  /**
   * Make a topology with its own temporary folder; its namespace names start with `prefix`
   * (a test suite's own prefix keeps its names apart from other suites').
   */
  static async create(prefix = "dk"): Promise<Topology> {
    const dir = await Deno.makeTempDir({ prefix: "dhcpkit-e2e-" });
    return new Topology(dir, prefix);
  }

  /** A path in the temporary folder. */
  path(name: string): string {
    return `${this.tempDir}/${name}`;
  }

  /**
   * Create a namespace `<prefix><id><role>` (prefix `dk` unless given) with loopback up and duplicate address detection off (so
   * addresses are usable at once).
   */
  async namespace(role: string): Promise<string> {
    const name = `${this.prefix}${this.id}${role}`;
    await run("ip", ["netns", "add", name]);
    this.namespaces.push(name);
    await this.exec(name, "ip", ["link", "set", "lo", "up"]);
    await this.exec(name, "sysctl", [
      "-qw",
      "net.ipv6.conf.all.accept_dad=0",
      "net.ipv6.conf.default.accept_dad=0",
      "net.ipv6.conf.all.disable_ipv6=0",
      "net.ipv6.conf.default.disable_ipv6=0",
    ]);
    return name;
  }

  /**
   * Join `nsA`'s interface `ifA` and `nsB`'s `ifB` with a veth pair (created directly in the
   * namespaces, so its names never clash with the host's) and bring both ends up.
   */
  async link(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await run("ip", [
      "-n",
      nsA,
      "link",
      "add",
      ifA,
      "type",
      "veth",
      "peer",
      "name",
      ifB,
      "netns",
      nsB,
    ]);
    for (const [ns, iface] of [[nsA, ifA], [nsB, ifB]]) {
      await this.exec(ns, "sysctl", ["-qw", `net.ipv6.conf.${iface}.accept_dad=0`]);
      await this.exec(ns, "ip", ["link", "set", iface, "up"]);
    }
  }

  /** Add an address (`2001:db8::1/64`) to an interface, without duplicate address detection. */
  async address(ns: string, iface: string, cidr: string): Promise<void> {
    await this.exec(ns, "ip", ["-6", "addr", "add", cidr, "dev", iface, "nodad"]);
  }

  /** Wait until `iface` has a link-local address that is no longer tentative; returns it. */
  async linkLocal(ns: string, iface: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const r = await this.exec(ns, "ip", [
        "-6",
        "-o",
        "addr",
        "show",
        "dev",
        iface,
        "scope",
        "link",
      ]);
      for (const line of r.stdout.split("\n")) {
        const m = line.match(/inet6 (fe80::[0-9a-f:]+)\/64/);
        if (m && !/tentative/.test(line)) return m[1];
      }
      if (Date.now() > deadline) throw new Error(`no usable link-local address on ${ns}/${iface}`);
      await sleep(100);
    }
  }

  /** Wait until every listed global address on `iface` has left the tentative state. */
  async settled(ns: string, iface: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const r = await this.exec(ns, "ip", ["-6", "-o", "addr", "show", "dev", iface]);
      if (!/tentative/.test(r.stdout)) return;
      if (Date.now() > deadline) throw new Error(`addresses on ${ns}/${iface} stay tentative`);
      await sleep(100);
    }
  }

  /** Run a command inside a namespace to completion. */
  exec(
    ns: string,
    cmd: string,
    args: string[],
    options: { check?: boolean; stdin?: string } = {},
  ): Promise<RunResult> {
    return run("ip", ["netns", "exec", ns, cmd, ...args], { ...options, cwd: REPO_ROOT });
  }

  /**
   * Start a long-running command inside a namespace (on the host when `ns` is `undefined`); it is
   * stopped by {@link Topology.close}.
   */
  spawn(ns: string | undefined, cmd: string, args: string[], label = cmd): ManagedProcess {
    return this.#spawn(ns, cmd, args, (child) => new ManagedProcess(label, child));
  }

  #spawn<T extends ManagedProcess>(
    ns: string | undefined,
    cmd: string,
    args: string[],
    make: (child: Deno.ChildProcess) => T,
  ): T {
    if (this.#closed) throw new Error("topology is closed");
    const argv = ns === undefined ? [cmd, ...args] : ["ip", "netns", "exec", ns, cmd, ...args];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = make(child);
    this.processes.push(p);
    return p;
  }

  /**
   * Write the configuration (with `user root`, and the PID file and control socket in the
   * temporary folder) and start `dhcpkit serve`; resolves once it logged "Ready to handle
   * requests".
   */
  async startServer(options: ServerStart): Promise<ServerProcess> {
    const name = `dhcpkit-${this.processes.length}.conf`;
    const header = [
      "user root",
      "group root",
      `pid-file ${this.path(name + ".pid")}`,
      `control-socket ${this.path(name + ".sock")}`,
      "",
    ].join("\n");
    const configPath = this.path(name);
    await Deno.writeTextFile(configPath, header + options.config);
    const verbose = Array(options.verbosity ?? 3).fill("-v");
    const server = this.#spawn(
      options.namespace,
      Deno.execPath(),
      [
        "run",
        ...SERVER_PERMISSIONS,
        ...(options.denoFlags ?? []),
        "cli/main.ts",
        "serve",
        ...verbose,
        configPath,
      ],
      (child) => new ServerProcess(`dhcpkit serve (${options.namespace ?? "host"})`, child),
    );
    server.configPath = configPath;
    server.pidFile = this.path(name + ".pid");
    await server.waitFor(/Ready to handle requests/, options.readyTimeoutMs ?? 20_000);
    return server;
  }

  /**
   * Write an executable shell script into the temporary folder that records its environment
   * (one file per call, named after `$reason`) and does nothing else: DHCP clients get it instead
   * of their stock hooks, which would change the host's files.
   */
  async recorderScript(name: string): Promise<{ script: string; dir: string }> {
    const dir = this.path(`${name}-env`);
    await Deno.mkdir(dir, { recursive: true });
    const script = this.path(`${name}-script.sh`);
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\n# Records the environment only; configures nothing.\n` +
        // Written aside and renamed: a reader never sees a file that is still being written.
        `env > "${dir}/.partial.$$" && mv "${dir}/.partial.$$" "${dir}/\${reason:-none}.$$.env"\n` +
        `exit 0\n`,
    );
    await Deno.chmod(script, 0o755);
    return { script, dir };
  }

  /** Everything the recorder script wrote whose reason matches, parsed into variables. */
  async recorded(dir: string, reason: RegExp): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = [];
    for await (const entry of Deno.readDir(dir)) {
      const r = entry.name.replace(/\.\d+\.env$/, "");
      if (!reason.test(r)) continue;
      const vars: Record<string, string> = {};
      for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) vars[line.slice(0, i)] = line.slice(i + 1);
      }
      out.push(vars);
    }
    return out;
  }

  /** Poll until the recorder wrote a file whose reason matches; returns its variables. */
  async waitRecorded(
    dir: string,
    reason: RegExp,
    timeoutMs = 20_000,
  ): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = await this.recorded(dir, reason);
      if (found.length) return found[0];
      if (Date.now() > deadline) throw new Error(`no ${reason} event recorded in ${dir}`);
      await sleep(200);
    }
  }

  /**
   * Stop every process (SIGTERM, then SIGKILL), kill anything still running inside our
   * namespaces (by pid, as listed by `ip netns pids`), delete the namespaces and the temporary
   * folder. Never throws; safe to call twice.
   */
  async close(keepTemp = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.processes.map((p) => p.stop().catch(() => {})));
    for (const ns of this.namespaces) {
      try {
        const pids = await run("ip", ["netns", "pids", ns], { check: false });
        for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
          try {
            Deno.kill(Number(pid), "SIGKILL");
          } catch {
            // gone
          }
        }
      } catch {
        // ignore
      }
      await run("ip", ["netns", "del", ns], { check: false }).catch(() => {});
    }
    if (!keepTemp) await Deno.remove(this.tempDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Run `fn` with a fresh topology and always close it afterwards, also when `fn` throws. Set
 * `DHCPKIT_E2E_KEEP=1` to keep the temporary folder of a failed test for inspection.
 */
export async function withTopology<T>(
  fn: (t: Topology) => Promise<T>,
  prefix?: string,
): Promise<T> {
  const t = await Topology.create(prefix);
  let failed = true;
  try {
    const result = await fn(t);
    failed = false;
    return result;
  } catch (e) {
    const logs = t.processes.map((p) => `--- ${p.label}:\n${tail(p.output, 60)}`).join("\n");
    if (logs) console.error(`e2e failure; process output:\n${logs}`);
    throw e;
  } finally {
    await t.close(failed && Deno.env.get("DHCPKIT_E2E_KEEP") === "1");
  }
}

/**
 * A client namespace and a server namespace joined by one veth pair (cli0 <-> srv0), both sides
 * with their link-local address; `serverAddress` / `clientAddress` (without prefix length, /64
 * is used) are added to srv0 / cli0 and waited for until usable.
 */
export async function directTopology(
  t: Topology,
  addresses: { serverAddress?: string; clientAddress?: string } = {},
): Promise<{ srv: string; cli: string; serverLinkLocal: string }> {
  const { serverAddress, clientAddress } = addresses;
  const srv = await t.namespace("srv");
  const cli = await t.namespace("cli");
  await t.link(srv, "srv0", cli, "cli0");
  if (serverAddress) await t.address(srv, "srv0", `${serverAddress}/64`);
  if (clientAddress) await t.address(cli, "cli0", `${clientAddress}/64`);
  const serverLinkLocal = await t.linkLocal(srv, "srv0");
  await t.linkLocal(cli, "cli0");
  if (serverAddress) await t.settled(srv, "srv0");
  if (clientAddress) await t.settled(cli, "cli0");
  return { srv, cli, serverLinkLocal };
}

/**
 * Client namespace -- relay namespace -- server namespace. The relay's lower side (rlo0,
 * 2001:db8:2::1) faces the client, its upper side (rup0, 2001:db8:1::1) the server (srv0,
 * 2001:db8:1::2). Returns the namespaces and the relay's client-facing link-local address.
 */
export async function relayTopology(
  t: Topology,
): Promise<{ srv: string; rly: string; cli: string; relayLinkLocal: string }> {
  const srv = await t.namespace("srv");
  const rly = await t.namespace("rly");
  const cli = await t.namespace("cli");
  await t.link(rly, "rup0", srv, "srv0");
  await t.link(rly, "rlo0", cli, "cli0");
  await t.address(srv, "srv0", "2001:db8:1::2/64");
  await t.address(rly, "rup0", "2001:db8:1::1/64");
  await t.address(rly, "rlo0", "2001:db8:2::1/64");
  for (const [ns, iface] of [[srv, "srv0"], [rly, "rup0"], [rly, "rlo0"], [cli, "cli0"]]) {
    await t.linkLocal(ns, iface);
    await t.settled(ns, iface);
  }
  const relayLinkLocal = await t.linkLocal(rly, "rlo0");
  return { srv, rly, cli, relayLinkLocal };
}

/** A packet capture (tshark writing a pcap) running in a namespace. */
export class Capture {
  /** Use {@link startCapture}. */
  constructor(readonly file: string, readonly process: ManagedProcess) {}

  /** Stop capturing (lets tshark flush the file). */
  async stop(): Promise<void> {
    // Give the capture a moment to pick up what was just sent, then let tshark flush the file.
    await sleep(700);
    await this.process.stop("SIGINT", 5000);
  }

  /** The DHCPv6 messages captured, decoded by `dhcpkit decode --pcap`. */
  async decode(): Promise<Record<string, unknown>[]> {
    const r = await run(Deno.execPath(), [
      "run",
      "--allow-read",
      "cli/main.ts",
      "decode",
      "--pcap",
      this.file,
    ], { cwd: REPO_ROOT, check: false });
    if (r.code !== 0 && !r.stdout) throw new Error(`decode failed: ${r.stderr}`);
    return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  }
}

/** Start tshark capturing DHCPv6 on `iface` in `ns`; resolves once it captures. */
export async function startCapture(t: Topology, ns: string, iface: string): Promise<Capture> {
  const file = t.path(`capture-${ns}-${iface}-${t.processes.length}.pcap`);
  const p = t.spawn(
    ns,
    "tshark",
    ["-n", "-q", "-i", iface, "-F", "pcap", "-w", file, "-f", "udp port 546 or udp port 547"],
    `tshark ${iface}`,
  );
  await p.waitFor(/Capturing on/, 20_000);
  await sleep(300);
  return new Capture(file, p);
}
