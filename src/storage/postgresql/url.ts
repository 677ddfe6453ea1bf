/**
 * libpq-style connection URLs: `postgresql://USER@/DB?host=/run/postgresql` (unix socket folder)
 * or `postgresql://USER@HOST:PORT/DB` (TCP), parsed into a {@link ConnectionTarget}.
 *
 * A password is never accepted in the URL (it would end up in configuration files, command lines
 * and log lines): it comes from a password file instead. Error messages and
 * {@link ConnectionTarget.description} never repeat a password, even one given by mistake.
 * @module
 */

/** How TLS is used on a TCP connection (libpq's `sslmode`). */
export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

const SSL_MODES: readonly SslMode[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
];

/** Where and as whom to connect. */
export interface ConnectionTarget {
  /** A folder holding the server's unix socket (when the host starts with `/`), else a host. */
  readonly host: string;
  /** True when {@link ConnectionTarget.host} is a unix socket folder. */
  readonly socket: boolean;
  /** TCP port, or the number in the socket file's name (`.s.PGSQL.PORT`). */
  readonly port: number;
  /** The role to log in as. */
  readonly user: string;
  /** The database. */
  readonly database: string;
  /** TLS on TCP connections (ignored for unix sockets). */
  readonly sslmode: SslMode;
  /** Reported to the server as `application_name`. */
  readonly applicationName: string;
  /** Seconds to wait for a connection, 0 = the client's default. */
  readonly connectTimeout: number;
  /** The URL in a form fit for logs: no password, parameters in a fixed order. */
  readonly description: string;
}

/** A URL that cannot be used; the message says why and never contains a password. */
export class ConnectionUrlError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConnectionUrlError";
  }
}

/** The socket folder used when the URL names no host (Debian's and libpq's default). */
export const DEFAULT_SOCKET_FOLDER = "/run/postgresql";
/** The default port. */
export const DEFAULT_PORT = 5432;

const PARAMETERS = new Set([
  "host",
  "port",
  "dbname",
  "user",
  "sslmode",
  "application_name",
  "connect_timeout",
]);

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConnectionUrlError(`the ${what} in the URL is not valid percent-encoding`);
  }
}

function port(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new ConnectionUrlError(`port ${JSON.stringify(text)} is not a number 1-65535`);
  }
  return Number(text);
}

/** A URL shown without anything between `//` and `@` after a colon (the password). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^@/?#:]*):[^@/?#]*@/i, "$1:***@")
    .replace(/([?&]password=)[^&#]*/i, "$1***");
}

/** The log form of a target. */
function describe(t: Omit<ConnectionTarget, "description">): string {
  const user = encodeURIComponent(t.user);
  const db = encodeURIComponent(t.database);
  const params: string[] = [];
  let authority: string;
  if (t.socket) {
    authority = `${user}@`;
    params.push(`host=${t.host}`);
    if (t.port !== DEFAULT_PORT) params.push(`port=${t.port}`);
  } else {
    const host = t.host.includes(":") ? `[${t.host}]` : t.host;
    authority = `${user}@${host}${t.port !== DEFAULT_PORT ? `:${t.port}` : ""}`;
    if (t.sslmode !== "prefer") params.push(`sslmode=${t.sslmode}`);
  }
  return `postgresql://${authority}/${db}${params.length ? "?" + params.join("&") : ""}`;
}

/**
 * Parse a libpq connection URL (`postgresql://` or `postgres://`). Accepted query parameters:
 * `host` (a folder starting with `/` for a unix socket), `port`, `dbname`, `user`, `sslmode`,
 * `application_name` and `connect_timeout`. The user is required; the host defaults to
 * {@link DEFAULT_SOCKET_FOLDER}, the port to 5432, the database to the user's name. Throws
 * {@link ConnectionUrlError}.
 */
export function parseConnectionUrl(url: string): ConnectionTarget {
  const match = /^(postgres(?:ql)?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!match) {
    throw new ConnectionUrlError(
      `${JSON.stringify(redactUrl(url))} is not a PostgreSQL URL ` +
        "(postgresql://USER@HOST:PORT/DB or postgresql://USER@/DB?host=/run/postgresql)",
    );
  }
  const [, , authority, path = "", query = ""] = match;
  let user = "";
  let hostPart = authority;
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    hostPart = authority.slice(at + 1);
    if (userInfo.includes(":")) {
      throw new ConnectionUrlError(
        "the URL contains a password: put it in a password file (password-file) instead",
      );
    }
    user = decode(userInfo, "user");
  }
  let host = "";
  let portNumber = DEFAULT_PORT;
  if (hostPart !== "") {
    let rest = hostPart;
    if (rest.startsWith("[")) {
      const close = rest.indexOf("]");
      if (close < 0) throw new ConnectionUrlError("the URL's host has a '[' without ']'");
      host = rest.slice(1, close);
      rest = rest.slice(close + 1);
      if (rest !== "" && !rest.startsWith(":")) {
        throw new ConnectionUrlError("unexpected text after the URL's host address");
      }
      if (rest.startsWith(":")) portNumber = port(rest.slice(1));
    } else {
      if (rest.includes(",")) {
        throw new ConnectionUrlError("only one host is supported in the URL");
      }
      const colon = rest.lastIndexOf(":");
      if (colon >= 0) {
        portNumber = port(rest.slice(colon + 1));
        rest = rest.slice(0, colon);
      }
      host = decode(rest, "host");
    }
  }
  let database = path.length > 1 ? decode(path.slice(1), "database name") : "";
  let sslmode: SslMode = "prefer";
  let applicationName = "dhcpkit";
  let connectTimeout = 0;
  for (const pair of query.slice(1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), "parameter name");
    const value = eq < 0 ? "" : decode(pair.slice(eq + 1), `parameter ${name}`);
    if (name === "password") {
      throw new ConnectionUrlError(
        "the URL contains a password: put it in a password file (password-file) instead",
      );
    }
    if (!PARAMETERS.has(name)) {
      throw new ConnectionUrlError(
        `unknown URL parameter ${JSON.stringify(name)} (known: ${[...PARAMETERS].join(", ")})`,
      );
    }
    switch (name) {
      case "host":
        if (value.includes(",")) throw new ConnectionUrlError("only one host is supported");
        host = value;
        break;
      case "port":
        portNumber = port(value);
        break;
      case "dbname":
        database = value;
        break;
      case "user":
        user = value;
        break;
      case "sslmode":
        if (!SSL_MODES.includes(value as SslMode)) {
          throw new ConnectionUrlError(
            `sslmode ${JSON.stringify(value)} is not one of ${SSL_MODES.join(", ")}`,
          );
        }
        sslmode = value as SslMode;
        break;
      case "application_name":
        applicationName = value;
        break;
      case "connect_timeout":
        if (!/^[0-9]{1,6}$/.test(value)) {
          throw new ConnectionUrlError(`connect_timeout ${JSON.stringify(value)} is not seconds`);
        }
        connectTimeout = Number(value);
        break;
    }
  }
  if (user === "") {
    throw new ConnectionUrlError("the URL names no user (postgresql://USER@...)");
  }
  if (host === "") host = DEFAULT_SOCKET_FOLDER;
  const socket = host.startsWith("/");
  if (!socket && !/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new ConnectionUrlError(`host ${JSON.stringify(host)} is not a host name or address`);
  }
  const target = {
    host,
    socket,
    port: portNumber,
    user,
    database: database || user,
    sslmode,
    applicationName,
    connectTimeout,
  };
  return { ...target, description: describe(target) };
}
