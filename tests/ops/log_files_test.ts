/**
 * Log files of a real server: reopened after logrotate (or an operator) renamed them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { INFORMATION_CONFIG } from "../helpers/server.ts";
import {
  baseConfig,
  freeUdpPort,
  informationRequest,
  makeWorkDir,
  RelayClient,
  type RunningServer,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

/** The DUID of `informationRequest()`'s client, in hex. */
const CLIENT = "00030001020000000001";

/** A log folder inside the server's work folder. */
function makeLogDir(dir: string): string {
  const logs = join(dir, "logs");
  Deno.mkdirSync(logs, { mode: 0o755 });
  Deno.chmodSync(logs, 0o755);
  return logs;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** Ask for information and wait for the answer. */
async function askInformation(port: number): Promise<void> {
  const client = new RelayClient(port);
  try {
    assert.ok(await client.ask(informationRequest()), "the server answers");
  } finally {
    client.close();
  }
}

/** The packet ids in text log lines that name `CLIENT` (one request each). */
function requestIds(text: string): string[] {
  return [...text.matchAll(new RegExp(`(#[0-9A-F]{6}): answering .*${CLIENT}`, "g"))]
    .map((m) => m[1]);
}

async function withServer(
  logging: string,
  run: (server: RunningServer, port: number, log: string) => Promise<void>,
): Promise<void> {
  const dir = makeWorkDir();
  const logs = makeLogDir(dir);
  const log = join(logs, "server.log");
  const port = freeUdpPort();
  writeConfig(
    join(dir, "server.conf"),
    baseConfig(port, "\n" + INFORMATION_CONFIG + "\n" + logging.replaceAll("LOGFILE", log)),
  );
  const server = await startServer(dir);
  try {
    await run(server, port, log);
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

const TEXT_LOGGING = "<logging>\n<file LOGFILE>\n level debug\n</file>\n</logging>\n";

Deno.test("SIGHUP after the log file was renamed: the server writes a new file at the path", async () => {
  await withServer(TEXT_LOGGING, async (server, port, log) => {
    await askInformation(port);
    await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the first request's lines");
    Deno.renameSync(log, log + ".1");
    server.child.kill("SIGHUP");
    await waitFor(() => read(log).includes("Configuration reloaded"), 10_000, "the new file");
    const rotated = read(log + ".1");
    await askInformation(port);
    await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the second request");
    assert.equal(read(log + ".1"), rotated, "the renamed file got no more lines");
    assert.notEqual(requestIds(read(log))[0], requestIds(rotated)[0]);
  });
});
