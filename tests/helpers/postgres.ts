/**
 * A real PostgreSQL cluster for the tests that need one: `initdb` in a temporary folder, the server
 * listening only on a unix socket in that folder (no TCP), started and stopped with `pg_ctl`.
 *
 * Each test file that needs a database calls {@link postgresTest} once: it starts a cluster,
 * passes it to the file's steps, and always stops the cluster and removes its folder afterwards,
 * also when a step fails (a process `unload` handler stops it too if the test run is cut short).
 * As root the cluster runs as the unprivileged `postgres` account (initdb refuses root); as any
 * other user it runs as that user. Without the PostgreSQL server binaries (Debian package
 * `postgresql`), or as root without a `postgres` account, the test is ignored and says why.
 * @module
 */

import { existsSync, readdirSync } from "node:fs";
import { loadConfigText } from "../../src/config/mod.ts";
import { buildHandlerTree } from "../../src/handlers/mod.ts";
import type { Handler } from "../../src/pipeline/mod.ts";
import { SERVER_DUID } from "../pipeline/helpers.ts";

const decoder = new TextDecoder();

/** Folders searched for the server binaries, newest major version first. */
function binaryFolders(): string[] {
  const out: string[] = [];
  const env = Deno.env.get("DHCPKIT_PG_BINDIR");
  if (env) out.push(env);
  try {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^[0-9]+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) out.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not installed from Debian
  }
  return out;
}

/** The folder with initdb, pg_ctl, postgres and psql, if any. */
export function findPostgresBinaries(): string | undefined {
  return binaryFolders().find((d) =>
    ["initdb", "pg_ctl", "postgres", "psql"].every((b) => existsSync(`${d}/${b}`))
  );
}

function accountExists(name: string): boolean {
  try {
    return Deno.readTextFileSync("/etc/passwd").split("\n").some((l) => l.startsWith(name + ":"));
  } catch {
    return false;
  }
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (!findPostgresBinaries()) {
    return "needs the PostgreSQL server binaries (Debian package postgresql: " +
      "/usr/lib/postgresql/*/bin/initdb, pg_ctl, postgres, psql)";
  }
  if (Deno.uid() === 0 && !accountExists("postgres")) {
    return "runs PostgreSQL as the unprivileged account postgres, which does not exist";
  }
  return undefined;
}

/** Result of {@link PostgresCluster.psql}. */
export interface PsqlResult {
  /** Exit status. */
  code: number;
  /** Standard output (unaligned, tuples only). */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** A running test cluster. */
export class PostgresCluster {
  #running = false;
  readonly #unload = () => {
    this.stopSync();
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // already gone
    }
  };

  private constructor(
    /** The temporary folder (data folder and socket inside). */
    readonly dir: string,
    /** The binaries' folder. */
    readonly bin: string,
    /** The account the server runs as (`postgres` as root, else the current user). */
    readonly owner: string | undefined,
  ) {}

  /** The folder holding the server's socket. */
  get socketDir(): string {
    return this.dir;
  }

  /** The superuser role. */
  readonly superuser = "postgres";

  /** The data folder. */
  get dataDir(): string {
    return `${this.dir}/data`;
  }

  /** The log file of the server. */
  get logFile(): string {
    return `${this.dir}/server.log`;
  }

  /** True while the server runs. */
  get running(): boolean {
    return this.#running;
  }

  /** A libpq URL for `user` on database `db` over the cluster's socket. */
  url(user: string, db = "postgres"): string {
    return `postgresql://${user}@/${db}?host=${this.dir}`;
  }

  /** Run a binary as the cluster's owner. */
  #as(binary: string, args: string[]): Promise<PsqlResult> {
    const path = `${this.bin}/${binary}`;
    return this.owner
      ? spawn("runuser", ["-u", this.owner, "--", path, ...args], this.dir)
      : spawn(path, args, this.dir);
  }

  /**
   * Create a cluster in a new temporary folder and start it. Local connections of the superuser
   * are trusted; every other role must give its password (scram-sha-256).
   */
  static async start(): Promise<PostgresCluster> {
    const reason = postgresUnavailable();
    if (reason) throw new Error(`cannot start PostgreSQL: ${reason}`);
    const bin = findPostgresBinaries()!;
    const owner = Deno.uid() === 0 ? "postgres" : undefined;
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pg-" });
    if (owner) await run("chown", [owner, dir]);
    Deno.chmodSync(dir, 0o755); // others (the servers under test) reach the socket
    const cluster = new PostgresCluster(dir, bin, owner);
    try {
      const init = await cluster.#as("initdb", [
        "-D",
        cluster.dataDir,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
      ]);
      if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
      Deno.writeTextFileSync(
        `${cluster.dataDir}/pg_hba.conf`,
        "local all postgres trust\nlocal all all scram-sha-256\n",
      );
      await cluster.startServer();
    } catch (e) {
      cluster.stopSync();
      Deno.removeSync(dir, { recursive: true });
      throw e;
    }
    globalThis.addEventListener("unload", cluster.#unload);
    return cluster;
  }

  /** Start the (stopped) server again; resolves once it accepts connections. */
  async startServer(): Promise<void> {
    const r = await this.#as("pg_ctl", [
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      "60",
      "-o",
      `-c listen_addresses='' -c unix_socket_directories='${this.dir}' -c fsync=off ` +
      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
      "start",
    ]);
    if (r.code !== 0) {
      let log = "";
      try {
        log = Deno.readTextFileSync(this.logFile).slice(-2000);
      } catch { /* no log */ }
      throw new Error(`pg_ctl start failed: ${r.stderr || r.stdout}\n${log}`);
    }
    this.#running = true;
  }

  /** Stop the server (fast shutdown: sessions are ended). */
  async stopServer(): Promise<void> {
    if (!this.#running) return;
    const r = await this.#as("pg_ctl", ["-D", this.dataDir, "-m", "fast", "-w", "stop"]);
    if (r.code !== 0) throw new Error(`pg_ctl stop failed: ${r.stderr || r.stdout}`);
    this.#running = false;
  }

  /** Stop the server synchronously (for unload handlers); never throws. */
  stopSync(): void {
    if (!existsSync(`${this.dataDir}/postmaster.pid`)) return;
    const path = `${this.bin}/pg_ctl`;
    const args = ["-D", this.dataDir, "-m", "immediate", "-w", "stop"];
    try {
      new Deno.Command(this.owner ? "runuser" : path, {
        args: this.owner ? ["-u", this.owner, "--", path, ...args] : args,
        stdout: "null",
        stderr: "null",
      }).outputSync();
    } catch {
      // nothing more to do
    }
    this.#running = false;
  }

  /** Run SQL with psql as `user` (default the superuser) on `db`; unaligned, tuples only. */
  psql(sql: string, options: { user?: string; db?: string; password?: string } = {}) {
    return this.#psql(sql, options);
  }

  #psql(
    sql: string,
    options: { user?: string; db?: string; password?: string },
  ): Promise<PsqlResult> {
    const args = [
      "-X",
      "-q",
      "-A",
      "-t",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      this.dir,
      "-U",
      options.user ?? this.superuser,
      "-d",
      options.db ?? "postgres",
    ];
    const env: Record<string, string> = options.password ? { PGPASSWORD: options.password } : {};
    return spawn(`${this.bin}/psql`, args, this.dir, sql, env);
  }

  /** Run SQL as the superuser; throws when psql fails; the output, trimmed. */
  async sql(sql: string, db = "postgres"): Promise<string> {
    const r = await this.#psql(sql, { db });
    if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Create a database owned by the superuser (dropped first if it exists). */
  async createDatabase(name: string): Promise<void> {
    await this.sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await this.sql(`CREATE DATABASE "${name}"`);
  }

  /**
   * Create a login role with `password` (replaced when it exists), and write the password to a
   * file in the cluster's folder readable by everybody (tests run servers as other users); the
   * file's path.
   */
  async createRole(name: string, password: string): Promise<string> {
    const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
    const [n, p] = [literal(name), literal(password)];
    await this.sql(
      `DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${n}) THEN ` +
        `EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', ${n}, ${p}); ELSE ` +
        `EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', ${n}, ${p}); END IF; END $$`,
    );
    const file = `${this.dir}/${name}.password`;
    Deno.writeTextFileSync(file, password + "\n", { mode: 0o644 });
    Deno.chmodSync(file, 0o644);
    return file;
  }

  /** Stop the server and remove the folder. */
  async destroy(): Promise<void> {
    globalThis.removeEventListener("unload", this.#unload);
    try {
      await this.stopServer();
    } catch {
      this.stopSync();
    }
    this.stopSync();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** Run a command to completion with `stdin`; what it printed and its exit status. */
async function spawn(
  cmd: string,
  args: string[],
  cwd: string,
  stdin?: string,
  env: Record<string, string> = {},
): Promise<PsqlResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * The handlers of configuration `text` (host checks on, so files such as password files must
 * exist), as the server builds them; throws with the errors when it does not load.
 */
export function handlersFromConfig(text: string, configDir = "/tmp"): Handler[] {
  const result = loadConfigText(text, `${configDir}/test.conf`, { hostChecks: true });
  if (!result.config) {
    throw new Error(result.errors.map((e) => `${e.line}: ${e.message}`).join("\n"));
  }
  return buildHandlerTree(result.config.handlers, { configDir, serverDuid: SERVER_DUID }).handlers;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
}

/**
 * One test (named `name`) with a cluster of its own: `fn` gets the running cluster and the test
 * context for its steps; the cluster is stopped and removed afterwards whatever happens. Ignored,
 * with the reason in the name, where PostgreSQL cannot run.
 */
export function postgresTest(
  name: string,
  fn: (pg: PostgresCluster, t: Deno.TestContext) => Promise<void>,
): void {
  const reason = postgresUnavailable();
  Deno.test({
    name: reason ? `${name} (ignored: ${reason})` : name,
    ignore: reason !== undefined,
    // The client keeps sockets and timers in its pool; each step closes what it opened.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const pg = await PostgresCluster.start();
      try {
        await fn(pg, t);
      } finally {
        await pg.destroy();
      }
    },
  });
}
