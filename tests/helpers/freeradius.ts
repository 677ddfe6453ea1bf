/**
 * A real FreeRADIUS 3 for tests: `freeradius -f` with a copy of the Debian configuration
 * (`/etc/freeradius/3.0`) in a temp folder, changed to run as root, log to stdout, answer at once
 * (no reject delay) and serve only the test's own virtual server, with the test's users file
 * and client secret. It listens on the address given (loopback by default) on a free port, and
 * its folder is removed when it is disposed of (`await using`), also when the test fails.
 * @module
 */

import { freeUdpPort } from "./server.ts";

/** Where Debian's package puts the configuration that is copied. */
export const FREERADIUS_CONFIG = "/etc/freeradius/3.0";

/** Why FreeRADIUS tests cannot run here, or undefined when they can. */
export function freeRadiusSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (FreeRADIUS is started as root)";
  for (const path of ["/usr/sbin/freeradius", FREERADIUS_CONFIG]) {
    try {
      Deno.statSync(path);
    } catch {
      return `needs the Debian package freeradius (${path} is missing)`;
    }
  }
  return undefined;
}

/** Settings of a test FreeRADIUS. */
export interface FreeRadiusOptions {
  /** The users file (`mods-config/files/authorize`). */
  readonly users: string;
  /** The shared secret of every client (unless `clients` is given). */
  readonly secret?: string;
  /** The address to listen on (default `::1`). */
  readonly address?: string;
  /** The port (default: a free one). */
  readonly port?: number;
  /** Drop requests without a Message-Authenticator (default true: proves we send a right one). */
  readonly requireMessageAuthenticator?: boolean;
  /** Run the process in this network namespace (`ip netns exec`). */
  readonly namespace?: string;
  /** A clients.conf of its own (then `secret` and `requireMessageAuthenticator` are not used). */
  readonly clients?: string;
}

/** The modules the test server needs; the others are left out to start fast. */
const MODULES = ["always", "expr", "files", "pap"];

function siteConfig(address: string, port: number): string {
  const key = address.includes(":") ? "ipv6addr" : "ipaddr";
  return `server dhcpkit_test {
  listen {
    type = auth
    ${key} = ${address}
    port = ${port}
  }
  authorize {
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
  post-auth {
  }
}
`;
}

function clientsConfig(secret: string, requireMessageAuthenticator: boolean): string {
  const require = requireMessageAuthenticator ? "yes" : "no";
  return ["ipv6addr = ::/0", "ipaddr = 0.0.0.0/0"].map((match, i) =>
    `client test${i} {
  ${match}
  secret = ${JSON.stringify(secret)}
  require_message_authenticator = ${require}
}
`
  ).join("\n");
}

/** A running (or stopped) test FreeRADIUS. */
export class FreeRadius {
  #process?: Deno.ChildProcess;
  #output = "";

  private constructor(
    /** The temp folder with `raddb/`. */
    readonly dir: string,
    /** The address it listens on. */
    readonly address: string,
    /** The port it listens on. */
    readonly port: number,
    readonly namespace?: string,
  ) {}

  /** Write the configuration into a temp folder and start the server. */
  static async start(options: FreeRadiusOptions): Promise<FreeRadius> {
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-freeradius-" });
    const address = options.address ?? "::1";
    const server = new FreeRadius(dir, address, options.port ?? freeUdpPort(), options.namespace);
    try {
      await server.#configure(options);
      await server.start();
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  /** `host:port` as the `server` key of `<radius-assignments>` takes it. */
  get serverKey(): string {
    return this.address.includes(":")
      ? `[${this.address}]:${this.port}`
      : `${this.address}:${this.port}`;
  }

  /** What the server printed so far (for failure messages). */
  get output(): string {
    return this.#output;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#process !== undefined;
  }

  async #configure(options: FreeRadiusOptions): Promise<void> {
    const raddb = `${this.dir}/raddb`;
    const copy = await new Deno.Command("cp", { args: ["-a", FREERADIUS_CONFIG, raddb] })
      .output();
    if (!copy.success) throw new Error(`cannot copy ${FREERADIUS_CONFIG}`);
    Deno.mkdirSync(`${this.dir}/log`);
    Deno.mkdirSync(`${this.dir}/run`);
    const conf = Deno.readTextFileSync(`${raddb}/radiusd.conf`)
      .replace(/^raddbdir = .*$/m, `raddbdir = ${raddb}`)
      .replace(/^logdir = .*$/m, `logdir = ${this.dir}/log`)
      .replace(/^run_dir = .*$/m, `run_dir = ${this.dir}/run`)
      .replace(/^(\s*)(user|group) = freerad$/gm, "$1# $2 = freerad")
      .replace(/^(\s*)reject_delay = .*$/m, "$1reject_delay = 0");
    Deno.writeTextFileSync(`${raddb}/radiusd.conf`, conf);
    for (const entry of Deno.readDirSync(`${raddb}/sites-enabled`)) {
      Deno.removeSync(`${raddb}/sites-enabled/${entry.name}`);
    }
    Deno.writeTextFileSync(
      `${raddb}/sites-enabled/dhcpkit_test`,
      siteConfig(this.address, this.port),
    );
    for (const entry of Deno.readDirSync(`${raddb}/mods-enabled`)) {
      if (!MODULES.includes(entry.name)) Deno.removeSync(`${raddb}/mods-enabled/${entry.name}`);
    }
    Deno.writeTextFileSync(
      `${raddb}/clients.conf`,
      options.clients ?? clientsConfig(
        options.secret ?? "testing123",
        options.requireMessageAuthenticator ?? true,
      ),
    );
    this.writeUsers(options.users);
  }

  /** Replace the users file (takes effect at the next start). */
  writeUsers(users: string): void {
    const path = `${this.dir}/raddb/mods-config/files/authorize`;
    Deno.removeSync(path);
    Deno.writeTextFileSync(path, users);
  }

  /** Start the process and wait until it is ready (again, after {@link FreeRadius.stop}). */
  async start(): Promise<void> {
    if (this.#process) return;
    const args = ["-f", "-l", "stdout", "-d", `${this.dir}/raddb`];
    const [program, programArgs] = this.namespace
      ? ["ip", ["netns", "exec", this.namespace, "freeradius", ...args]]
      : ["freeradius", args];
    const process = new Deno.Command(program, {
      args: programArgs,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#process = process;
    const ready = this.#collect(process.stdout, "Ready to process requests", this.#output.length);
    this.#collect(process.stderr);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = process.status.then((s) => `exited with code ${s.code}`);
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("not ready after 15 s"), 15_000);
    });
    const outcome = await Promise.race([ready.then(() => undefined), exited, late]);
    clearTimeout(timer);
    if (outcome !== undefined) {
      await this.stop();
      throw new Error(`FreeRADIUS ${outcome}:\n${this.#output}`);
    }
  }

  /**
   * Read a stream into the output; resolves when `marker` appears after offset `from` (never,
   * without a marker).
   */
  #collect(stream: ReadableStream<Uint8Array>, marker?: string, from = 0): Promise<void> {
    return new Promise((resolve) => {
      (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of stream) {
            this.#output += decoder.decode(chunk, { stream: true });
            if (marker && this.#output.includes(marker, from)) resolve();
          }
        } catch {
          // The process went away.
        }
      })();
    });
  }

  /** Stop the process (SIGTERM, then SIGKILL after 5 s) and wait for it. */
  async stop(): Promise<void> {
    const process = this.#process;
    if (!process) return;
    this.#process = undefined;
    try {
      process.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const killer = setTimeout(() => {
      try {
        process.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5000);
    await process.status;
    clearTimeout(killer);
  }

  /** Stop the server and remove its folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    Deno.removeSync(this.dir, { recursive: true });
  }
}
