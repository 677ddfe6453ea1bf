/**
 * `dhcpkit serve [-v...] [-p PIDFILE] [-c SOCKET] CONFIG` (or `--demo`): run the server.
 * @module
 */

import { reportError, UsageError } from "./errors.ts";
import { consoleOutput, runCommand } from "./run.ts";
import { SERVE } from "./usage/commands.ts";
import { levelForVerbosity, setupConsoleLogging } from "../src/server/logging.ts";
import { DEMO_CONFIG, DEMO_PORT } from "../src/server/demo.ts";
import { Server, StartupError } from "../src/server/server.ts";

/** Run the `serve` subcommand; resolves with the exit status when the server stops. */
export function serveCommand(args: string[]): Promise<number> {
  return runCommand(SERVE, args, consoleOutput, async (parsed) => {
    const demo = parsed.flag("demo");
    const [config] = parsed.positionals;
    if (!demo && config === undefined) throw new UsageError("a CONFIG file is needed");
    if (demo && config !== undefined) throw new UsageError("--demo runs without a CONFIG file");
    const verbosity = parsed.count("verbosity") || (demo ? 2 : 0);
    const level = levelForVerbosity(verbosity);
    await setupConsoleLogging(level);
    const server = new Server({
      configPath: demo ? "<demo>" : config,
      configText: demo ? DEMO_CONFIG : undefined,
      pidFile: demo ? false : parsed.string("pidfile"),
      controlSocket: demo ? false : parsed.string("control-socket"),
      // Only an explicit -v overrides the configured console level.
      logLevel: verbosity > 0 ? level : undefined,
    });
    return await run(server, demo);
  });
}

/** Start `server`, wait until it stops; the exit status. */
async function run(server: Server, demo: boolean): Promise<number> {
  const guard = installErrorGuard(server);
  // Signals are taken over before the start: a SIGTERM while the server starts (loading a large
  // table, say) stops it cleanly once it has started, instead of killing the process with
  // workers that already answer and have writes queued.
  let started = false;
  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    if (started) void server.stop();
  };
  const reload = () => {
    if (started) void server.reload();
  };
  const removeListeners = () => {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGHUP", reload);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGHUP", reload);
  try {
    await server.start();
  } catch (e) {
    removeListeners();
    // A StartupError says what is wrong in its own words; anything else in one line too.
    const err = (line: string) => console.error(line);
    if (e instanceof StartupError) err(`dhcpkit serve: ${e.message}`);
    else reportError("serve", e, err);
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
  started = true;
  if (stopRequested) void server.stop();
  await server.stopped;
  removeListeners();
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
