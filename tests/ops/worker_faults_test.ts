/**
 * Dead workers are replaced (issue 20, defect 5), with the fault-injection extension
 * (tests/helpers/fault) against server subprocesses with both I/O backends: a worker that calls
 * `Deno.exit`, `self.close()`, hangs in a busy loop, or reports more than `max-exceptions` errors
 * (unhandled rejections) is terminated and replaced (a handler that throws fails only its own
 * request); every request sent afterwards is answered (the `deno` backend's
 * round robin skips a dead worker), the restarts show as `worker_restarts` in `stats`,
 * `stats-json` and `/metrics`, and the server keeps running. Only when a replacement keeps
 * failing to start does the server stop, with one fatal line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { FAULT } from "../helpers/fault/mod.ts";
import { SpyClient } from "../helpers/fault/client.ts";
import { parseExposition, sum } from "./exposition.ts";
import {
  baseConfig,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  ROOT,
  type RunningServer,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const FAULT_EXTENSION = join(ROOT, "tests/helpers/fault/mod.ts");

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function statsJson(server: RunningServer): Promise<Record<string, Record<string, number>>> {
  return JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
}

async function restarts(server: RunningServer): Promise<number> {
  return (await statsJson(server)).server.worker_restarts;
}

/** The test configuration: `<fault>` behind the given head, two workers. */
function faultConfig(port: number, io: string, extra = "", fault = ""): string {
  return `extension ${FAULT_EXTENSION}\nworker-heartbeat-timeout 2\nmax-exceptions 2\n` +
    baseConfig(port, `${extra}\n<fault>\n${fault}</fault>\n`)
      .replace("workers 2\n", `workers 2\nio-backend ${io}\n`);
}

const BACKENDS = ["deno", "ffi"] as const;
const canFfi = Deno.build.os === "linux";

for (const io of BACKENDS) {
  Deno.test({
    name: `dead workers (io-backend ${io}): exit, close, hang and too many errors each restart ` +
      "one worker; every later request is answered; restarts counted",
    ignore: io === "ffi" && !canFfi,
    async fn() {
      const dir = makeWorkDir();
      const port = freeUdpPort();
      const metricsPort = freeTcpPort();
      writeConfig(
        join(dir, "server.conf"),
        faultConfig(port, io, `<metrics>\n    address ::1\n    port ${metricsPort}\n</metrics>\n`),
      );
      const server = await startServer(dir, ["-v"]);
      const client = new SpyClient(port);
      let next = 1;
      /** Send 20 ordinary requests; all of them must be answered. */
      const allAnswered = async (what: string) => {
        const from = next;
        next += 20;
        await waitFor(
          async () => {
            await client.send(client.missing(from, next - 1));
            await new Promise((r) => setTimeout(r, 200));
            return client.missing(from, next - 1).length === 0;
          },
          10_000,
          `every request answered ${what}`,
        ).catch((e) => {
          throw new Error(
            `${e.message}: missing ${client.missing(from, next - 1).length}/20\n` +
              server.stderr(),
          );
        });
      };
      try {
        await allAnswered("at start");
        assert.equal(await restarts(server), 0);
        // A handler that throws fails its request only (counted as handling_errors): no restart.
        await client.send([FAULT.throw, FAULT.throw]);
        await waitFor(
          async () => (await statsJson(server)).global.handling_errors === 2,
          10_000,
          "two handling errors",
        );
        await allAnswered("after a handler threw");
        assert.equal(await restarts(server), 0);
        let expected = 0;
        for (const fault of ["exit", "close", "hang", "reject"] as const) {
          // reject: max-exceptions 2, so the third unhandled rejection within the window restarts
          // the worker; ten of them, so that one of the two workers gets at least three.
          await client.send(Array(fault === "reject" ? 10 : 1).fill(FAULT[fault]));
          expected++;
          await waitFor(
            async () => (await restarts(server)) >= expected,
            15_000,
            `a restart after ${fault}`,
          ).catch((e) => {
            throw new Error(`${e.message}\n${server.stderr()}`);
          });
          expected = await restarts(server);
          // Wait until the replacements are ready, then no request may be lost.
          await waitFor(
            () => server.stderr().match(/ replaced$/gm)?.length === expected,
            10_000,
            "the replacement",
          );
          await allAnswered(`after ${fault}`);
        }
        const text = (await sendControlCommand(server.socket, "stats")).output.join("\n");
        assert.match(text, new RegExp(`Worker restarts: ${expected}\\b`));
        const metrics = parseExposition(
          await (await fetch(`http://[::1]:${metricsPort}/metrics`)).text(),
        );
        assert.equal(sum(metrics, "dhcpkit_worker_restarts_total"), expected);
        assert.match(server.stderr(), /no heartbeat/);
        assert.match(server.stderr(), /more than 2 errors within/);
        assert.doesNotMatch(server.stderr(), /More than \d+ errors in \d+ seconds: stopping/);
      } finally {
        client.close();
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
      assert.equal((await server.status).code, 0, server.stderr());
    },
  });
}

Deno.test({
  name: "dead workers: a replacement that keeps failing to load stops the server with one line",
  async fn() {
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const fail = join(dir, "fail-load");
    writeConfig(
      join(dir, "server.conf"),
      faultConfig(port, "deno", "", `    fail-load-file ${fail}\n`),
    );
    const server = await startServer(dir, ["-v"]);
    const client = new SpyClient(port);
    try {
      await client.send(range(1, 5));
      await waitFor(() => client.missing(1, 5).length === 0, 5000, "answers");
      Deno.writeTextFileSync(fail, "");
      await client.send([FAULT.exit, FAULT.exit]);
      const status = await Promise.race([
        server.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
      ]);
      assert.ok(status, `the server did not stop:\n${server.stderr()}`);
      assert.match(
        server.stderr(),
        /replacing worker \d: .*refusing to load.*\(3 failures in a row\): stopping/,
      );
    } finally {
      client.close();
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
