/**
 * `<static-csv>` with several I/O workers: the main thread loads the file once per
 * configuration and every worker answers from that one table; a reload loads the changed file
 * once more and every worker switches to it. Root and Linux only (the ffi backend's server binds,
 * then drops to nobody).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ioWorkerCount } from "../../src/server/io/ffi_backend.ts";
import { type IAAddressOption, IANAOption, type Message } from "../../src/protocol/mod.ts";
import { isRoot } from "../e2e/netns.ts";
import {
  baseConfig,
  ctl,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  solicit,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const why = Deno.build.os !== "linux"
  ? "needs Linux"
  : !isRoot()
  ? "needs root (the server binds, then drops to nobody)"
  : undefined;
if (why) console.log(`note: skipping the shared static table test: ${why}`);

/** The address a Solicit of the helpers' client (DUID 00030001020000000002) is offered. */
function offered(message: Message | undefined): string | undefined {
  const ia = (message as { getOption?: (t: typeof IANAOption) => IANAOption | undefined })
    ?.getOption?.(IANAOption);
  return (ia?.options[0] as IAAddressOption | undefined)?.address;
}

async function askMany(client: RelayClient, count: number): Promise<Array<string | undefined>> {
  for (let i = 0; i < count; i++) await client.send(solicit());
  const answers: Array<string | undefined> = [];
  for (let i = 0; i < count; i++) {
    const reply = await client.receive(3000);
    if (!reply) break;
    answers.push(offered(reply));
  }
  return answers;
}

Deno.test({
  name: "static-csv with 2 I/O workers: loaded once, answered by both; a reload swaps the table",
  ignore: why !== undefined,
  fn: async () => {
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const csv = join(dir, "assignments.csv");
    const write = (address: string) =>
      writeConfig(
        csv,
        `id,address,prefix\nduid:00030001020000000002,${address},\nremote-id:9:0102,2001:db8::99,\n`,
      );
    write("2001:db8::a");
    // A long io-batch-delay keeps both workers in turn busy with bursts.
    writeConfig(
      join(dir, "server.conf"),
      `io-backend ffi\nio-batch-delay 0.02\n${
        baseConfig(port, "\n<static-csv assignments.csv>\n</static-csv>\n")
      }`,
    );
    const server = await startServer(dir, ["-vv"]);
    const client = new RelayClient(port);
    const loads = () => server.stderr().match(/2 static assignments loaded/g)?.length ?? 0;
    try {
      const threads = ioWorkerCount(2);
      await waitFor(
        () => server.stderr().includes(`(${threads} I/O worker`),
        5000,
        "the workers ready",
      );
      assert.equal(loads(), 1, "one load for every worker:\n" + server.stderr());
      const first = await askMany(client, 100);
      assert.equal(first.length, 100);
      assert.ok(first.every((a) => a === "2001:db8::a"), String(first));

      write("2001:db8::b");
      await ctl(server.socket, "reload");
      await waitFor(() => server.stderr().includes("Configuration reloaded"), 10_000, "reload");
      assert.equal(loads(), 2, "one more load for the new configuration");
      const second = await askMany(client, 100);
      assert.equal(second.length, 100);
      assert.ok(second.every((a) => a === "2001:db8::b"), "no worker kept the old table");
    } finally {
      client.close();
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
