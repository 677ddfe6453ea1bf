/**
 * `dhcpkit serve [-v...] [-p PIDFILE] [-c SOCKET] [--demo] CONFIG`: run the server.
 * @module
 */

import { consoleUsage, parseCommandArgs } from "./args.ts";
import { levelForVerbosity, setupConsoleLogging } from "../src/server/logging.ts";
import { DEMO_CONFIG, DEMO_PORT } from "../src/server/demo.ts";
import { Server, StartupError } from "../src/server/server.ts";

const USAGE = `usage: dhcpkit serve [-v...] [-p PIDFILE] [-c SOCKET] CONFIG
       dhcpkit serve --demo

Run the DHCPv6 server with the configuration in CONFIG.

options:
  -v, --verbose         more log output on stderr (repeat up to 5 times)
  -p, --pidfile PATH    write the process id here (overrides pid-file)
  -c, --control-socket PATH  control socket location (overrides control-socket)
      --demo            run the embedded demo configuration (no root needed)
  -h, --help            show this help`;

/** Run the `serve` subcommand; resolves with the exit status when the server stops. */
export async function serveCommand(args: string[]): Promise<number> {
  const usage = consoleUsage("dhcpkit serve", USAGE);
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      verbose: { type: "boolean", short: "v", multiple: true },
      pidfile: { type: "string", short: "p" },
      "control-socket": { type: "string", short: "c" },
      demo: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }, usage);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const demo = values.demo ?? false;
  if (!demo && positionals.length !== 1) {
    usage.error("exactly one CONFIG file is needed");
    return usage.errorStatus;
  }
  const verbosity = values.verbose?.length ?? (demo ? 2 : 0);
  const level = levelForVerbosity(verbosity);
  await setupConsoleLogging(level);
  const server = new Server({
    configPath: demo ? "<demo>" : positionals[0],
    configText: demo ? DEMO_CONFIG : undefined,
    pidFile: demo ? false : values.pidfile,
    controlSocket: demo ? false : values["control-socket"],
    // Only an explicit -v overrides the configured console level.
    logLevel: verbosity > 0 ? level : undefined,
  });
  const guard = installErrorGuard(server);
  try {
    await server.start();
  } catch (e) {
    console.error(`dhcpkit serve: ${e instanceof StartupError ? e.message : (e as Error).stack}`);
    await server.stop();
    guard.remove();
    return 1;
  }
  if (demo) {
    console.error(
      `dhcpkit demo server listening on [::1]:${DEMO_PORT}. Ask it something with:\n` +
        `  deno task query    (or: dhcpkit query --server ::1 --port ${DEMO_PORT} information-request)`,
    );
  }
  const stop = () => void server.stop();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const reload = () => void server.reload();
  Deno.addSignalListener("SIGHUP", reload);
  await server.stopped;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGHUP", reload);
  guard.remove();
  return 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Keep the process alive on an error nothing caught (a rejected promise nobody awaited, an
 * exception in a callback): it is logged and counted towards `max-exceptions`, so only a burst
 * of them within `exception-window` stops the server, and then cleanly. Workers do the same and
 * report theirs to the main thread.
 */
export function installErrorGuard(server: Server): { remove(): void } {
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    server.reportException(`unhandled rejection: ${describe(event.reason)}`);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    server.reportException(`uncaught error: ${describe(event.error ?? event.message)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return {
    remove() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    },
  };
}
