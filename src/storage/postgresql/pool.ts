/**
 * One pool of PostgreSQL connections per worker, over the `postgres` npm client, with what a
 * DHCP server needs on top of it:
 *
 * - **Fail fast while the database is away.** After a connection-level failure the pool is
 *   *down*: queries are refused at once ({@link DatabaseUnavailableError}) instead of queuing in
 *   memory, except one probe per backoff interval. The interval starts at
 *   {@link PoolOptions.backoffMs} and doubles up to {@link PoolOptions.maxBackoffMs}. The first
 *   query that succeeds brings the pool back up. Going down and coming back are logged once each.
 * - **Bounded waiting.** At most {@link PoolOptions.maxPending} queries wait at once; more are
 *   refused at once.
 * - **Prepared statements.** Every query is a named prepared statement on its connection (parsed
 *   and planned once per connection, then only bound and executed). Queries are pipelined: a
 *   connection takes the next one before the answer to the last has come.
 * - **Passwords** come from a password file, read at every connection (so a rotated password is
 *   used on the next reconnection), and never appear in messages.
 *
 * Pools are shared: {@link acquirePool} returns the worker's pool for a target (sections naming
 * the same database and password file share one, unless a later one asks for more connections),
 * {@link PostgresPool.release} gives it back and the last release closes it.
 * @module
 */

import postgres from "postgres";
import { getLogger } from "@logtape/logtape";
import { readPasswordFile } from "./password.ts";
import type { ConnectionTarget } from "./url.ts";

const log = getLogger(["dhcpkit", "postgresql"]);

/** How a pool connects and behaves. */
export interface PoolOptions {
  /** Connections in the pool (default 4). */
  size?: number;
  /** A file whose first line is the password (default: no password). */
  passwordFile?: string;
  /** Queries that may wait at once; more are refused at once (default 1000). */
  maxPending?: number;
  /** First wait before trying again after a connection failure, ms (default 250). */
  backoffMs?: number;
  /** Longest wait between attempts, ms (default 30000). */
  maxBackoffMs?: number;
  /** Seconds to wait for a connection (default: the URL's connect_timeout, else 5). */
  connectTimeout?: number;
}

/** The database cannot be used right now (down, or too many queries waiting). */
export class DatabaseUnavailableError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnavailableError";
  }
}

/** A failure while opening a pool: the message names the database and says what is wrong. */
export class DatabaseOpenError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "DatabaseOpenError";
  }
}

/** Socket and protocol errors that mean "the connection is gone", not "this query is wrong". */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ETIMEDOUT",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EACCES",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "28P01", // invalid_password
  "28000", // invalid_authorization_specification
  "3D000", // invalid_catalog_name (no such database)
]);

/** The error's code (SQLSTATE or socket error code), if any. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when `error` says the connection failed or was lost (the pool goes down). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  const code = errorCode(error);
  if (code === undefined) return false;
  return CONNECTION_CODES.has(code) || code.startsWith("08");
}

/**
 * One line describing a failure, for operators: the server's message and SQLSTATE, or the socket
 * error. Never contains connection options (nor so the password).
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errorCode(error);
  const e = error as Error & { severity?: string; address?: string };
  if (e.name === "PostgresError" && code) return `${e.message} (SQLSTATE ${code})`;
  if (code === "ENOENT" && e.address) return `no server listening on ${e.address}`;
  if (code === "ECONNREFUSED") return `connection refused (${e.message.replace(/^.*? /, "")})`;
  return e.message;
}

/** A transaction: the same query method, on one connection. */
export interface Transaction {
  /** Run `text` with `params` as a prepared statement; the rows. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

type Sql = ReturnType<typeof postgres>;
type Row = Record<string, unknown>;
type ClientOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/** What a {@link PostgresPool.listen} connection reports. */
export interface ListenHandlers {
  /** A notification on the channel arrived, with its payload. */
  notify(payload: string): void;
  /** The connection was lost (not called after {@link Listener.close}); notifications may be missed. */
  lost(error?: unknown): void;
}

/** A dedicated connection LISTENing on one channel. */
export interface Listener {
  /**
   * Run `text` on the listening connection (not prepared): an answer shows that the connection,
   * and so the LISTEN, is alive.
   */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Stop listening and close the connection. */
  close(): Promise<void>;
}

/** A pool of connections to one database (see the module documentation). */
export class PostgresPool {
  readonly #sql: Sql;
  readonly #clientOptions: Record<string, unknown>;
  readonly #options: Required<Omit<PoolOptions, "passwordFile">> & { passwordFile?: string };
  #down = false;
  #downSince = 0;
  #downReason = "";
  #nextAttempt = 0;
  #delay: number;
  #probing = false;
  #pending = 0;
  #closed = false;
  #users = 1;
  /** Queries refused because the database was down or too many were waiting. */
  refused = 0;
  /** Queries that failed (in the database or on the way). */
  failed = 0;

  /** Create the pool; nothing connects before the first query (see {@link PostgresPool.open}). */
  constructor(readonly target: ConnectionTarget, options: PoolOptions = {}) {
    this.#options = {
      size: Math.max(1, options.size ?? 4),
      passwordFile: options.passwordFile,
      maxPending: Math.max(1, options.maxPending ?? 1000),
      backoffMs: Math.max(1, options.backoffMs ?? 250),
      maxBackoffMs: Math.max(1, options.maxBackoffMs ?? 30000),
      connectTimeout: options.connectTimeout ?? (target.connectTimeout || 5),
    };
    this.#delay = this.#options.backoffMs;
    const passwordFile = options.passwordFile;
    const ssl = target.socket || target.sslmode === "disable"
      ? false
      : target.sslmode === "verify-ca"
      ? "verify-full"
      : target.sslmode;
    this.#clientOptions = {
      ...(target.socket
        ? { path: `${target.host}/.s.PGSQL.${target.port}` }
        : { host: [target.host], port: [target.port] }),
      database: target.database,
      user: target.user,
      password: passwordFile ? () => readPasswordFile(passwordFile) : "",
      ssl,
      max: this.#options.size,
      idle_timeout: null,
      connect_timeout: this.#options.connectTimeout,
      // Reconnecting is paced by this pool (see #attempt), not by the client.
      backoff: 0,
      keep_alive: 60,
      prepare: true,
      debug: false,
      fetch_types: false,
      max_pipeline: 100,
      target_session_attrs: null,
      connection: { application_name: target.applicationName },
      onnotice: () => {},
    };
    this.#sql = postgres(this.#clientOptions as ClientOptions);
  }

  /** The database in a form fit for logs (no password). */
  get description(): string {
    return this.target.description;
  }

  /** Connections in the pool. */
  get size(): number {
    return this.#options.size;
  }

  /** False while the database is known to be unreachable. */
  get up(): boolean {
    return !this.#down;
  }

  /** Queries waiting for an answer now. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Connect and run a trivial query, so that a wrong URL, password or database is reported when
   * the server starts. Throws {@link DatabaseOpenError} naming the database.
   */
  async open(): Promise<void> {
    try {
      await this.#sql.unsafe("SELECT 1", [], { prepare: false });
    } catch (e) {
      throw new DatabaseOpenError(`${this.description}: cannot connect: ${describeError(e)}`);
    }
  }

  /** Refuse at once when the database is away and it is not time to try again. */
  #admit(): boolean {
    if (this.#closed) throw new DatabaseUnavailableError(`${this.description}: pool closed`);
    if (this.#pending >= this.#options.maxPending) {
      this.refused++;
      throw new DatabaseUnavailableError(
        `${this.description}: ${this.#pending} queries waiting already`,
      );
    }
    if (!this.#down) return false;
    if (this.#probing || Date.now() < this.#nextAttempt) {
      this.refused++;
      throw new DatabaseUnavailableError(
        `${this.description} is unavailable (${this.#downReason})`,
      );
    }
    this.#probing = true;
    return true;
  }

  #succeeded(): void {
    if (!this.#down) return;
    log.info("{database}: connection restored after {seconds} s", {
      database: this.description,
      seconds: Math.round((Date.now() - this.#downSince) / 100) / 10,
    });
    this.#down = false;
    this.#delay = this.#options.backoffMs;
  }

  #failed(error: unknown): void {
    this.failed++;
    if (!isConnectionError(error)) return;
    const reason = describeError(error);
    if (!this.#down) {
      this.#down = true;
      this.#downSince = Date.now();
      this.#delay = this.#options.backoffMs;
      log.warning(
        "{database}: connection lost ({reason}); queries fail until it is back, retrying with " +
          "backoff",
        { database: this.description, reason },
      );
    } else {
      this.#delay = Math.min(this.#delay * 2, this.#options.maxBackoffMs);
      log.debug("{database}: still unavailable ({reason}); next try in {ms} ms", {
        database: this.description,
        reason,
        ms: this.#delay,
      });
    }
    this.#downReason = reason;
    this.#nextAttempt = Date.now() + this.#delay;
  }

  /** Run `work` (which issues one query) under the pool's admission, state and counting. */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    const probe = this.#admit();
    this.#pending++;
    try {
      const result = await work();
      this.#succeeded();
      return result;
    } catch (e) {
      this.#failed(e);
      throw e;
    } finally {
      this.#pending--;
      if (probe) this.#probing = false;
    }
  }

  /**
   * Run `text` (with `$1`... placeholders) as a prepared statement; resolves with the rows.
   * Rejects with {@link DatabaseUnavailableError} at once while the database is away.
   */
  query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.#run(async () =>
      Array.from(
        await this.#sql.unsafe(text, params as never[], { prepare: true }),
      ) as unknown as T[]
    );
  }

  /**
   * Run `work` inside one transaction (`BEGIN` ... `COMMIT`, rolled back when it throws) on one
   * connection.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#run(async () =>
      await this.#sql.begin(async (tx) =>
        await work({
          query: async <R = Row>(text: string, params: readonly unknown[] = []) =>
            Array.from(
              await tx.unsafe(text, params as never[], { prepare: true }),
            ) as unknown as R[],
        })
      ) as T
    );
  }

  /**
   * Open a dedicated connection (outside the pool, same database and credentials; its
   * `application_name` ends in ` (listen)`) and LISTEN on
   * `channel`; resolves once the LISTEN took effect, so every change committed afterwards is
   * notified. The connection is not re-established: after `lost`, call this again.
   */
  async listen(channel: string, handlers: ListenHandlers): Promise<Listener> {
    let state: "opening" | "up" | "closed" = "opening";
    const sql = postgres({
      ...this.#clientOptions,
      max: 1,
      max_lifetime: null,
      // Told apart from the pool's sessions in pg_stat_activity.
      connection: { application_name: `${this.target.applicationName} (listen)` },
      onnotify: (c: string, payload: string) => {
        if (state === "up" && c === channel) handlers.notify(payload);
      },
      onclose: () => {
        if (state !== "up") return;
        state = "closed";
        sql.end({ timeout: 0 }).catch(() => {});
        handlers.lost();
      },
    } as ClientOptions);
    try {
      await sql.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`, [], { prepare: false });
    } catch (e) {
      state = "closed";
      await sql.end({ timeout: 0 }).catch(() => {});
      throw e;
    }
    if (state === "opening") state = "up";
    return {
      query: async <T>(text: string, params: readonly unknown[] = []) =>
        Array.from(
          await sql.unsafe(text, params as never[], { prepare: false }),
        ) as unknown as T[],
      close: async () => {
        if (state === "closed") return;
        state = "closed";
        await sql.end({ timeout: 1 }).catch(() => {});
      },
    };
  }

  /** One more user of a shared pool (see {@link acquirePool}). */
  retain(): this {
    this.#users++;
    return this;
  }

  /** Give the pool back; the last user closes it. */
  async release(): Promise<void> {
    if (--this.#users > 0) return;
    await this.close();
  }

  /** Close every connection (waiting at most a few seconds for queries in flight). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [key, pool] of shared) if (pool === this) shared.delete(key);
    try {
      await this.#sql.end({ timeout: 2 });
    } catch {
      // already gone
    }
  }
}

/** This worker's pools, by target and credentials. */
const shared = new Map<string, PostgresPool>();

/**
 * This worker's pool for `target` (with the same password file), created on first use: sections
 * that name the same database share one pool. Call {@link PostgresPool.release} when done.
 */
export function acquirePool(target: ConnectionTarget, options: PoolOptions = {}): PostgresPool {
  const key = `${target.description}\n${options.passwordFile ?? ""}`;
  const existing = shared.get(key);
  if (existing && existing.size >= (options.size ?? 4)) return existing.retain();
  // A larger pool is wanted: later sections share the larger one.
  const pool = new PostgresPool(target, options);
  shared.set(key, pool);
  return pool;
}
