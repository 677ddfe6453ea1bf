/**
 * A server started as root drops to `user nobody` yet keeps working with a configuration only
 * root can read: workers get the files the main thread read, reload reads as root again, and
 * the PID file and control socket are removed from a root-only folder on exit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  PreferenceOption,
  RecursiveNameServersOption,
  type ReplyMessage,
} from "../../src/protocol/mod.ts";
import {
  baseConfig,
  ctl,
  exists,
  freeUdpPort,
  informationRequest,
  RelayClient,
  startServer,
  waitFor,
} from "./helpers.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.warn("privileges_test: skipped, needs root to drop privileges");

Deno.test({
  name: "root-only configuration: workers start, reload re-reads it, clean exit removes files",
  ignore: !isRoot,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-" });
    Deno.chmodSync(dir, 0o700);
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    const write = (extra: string) => {
      Deno.writeTextFileSync(
        conf,
        baseConfig(
          port,
          `<recursive-name-servers>\n    address 2001:db8::53\n</recursive-name-servers>\n${extra}`,
        )
          .replace("workers 2", "workers 1\nuser nobody"),
      );
      Deno.chmodSync(conf, 0o600);
    };
    write("");
    const server = await startServer(dir);
    const client = new RelayClient(port);
    try {
      const first = await client.ask(informationRequest()) as ReplyMessage | undefined;
      assert.ok(first, `no reply:\n${server.stderr()}`);
      assert.deepEqual(first.getOption(RecursiveNameServersOption)?.addresses, ["2001:db8::53"]);
      assert.equal(first.getOption(PreferenceOption), undefined);

      write("<preference>\n    level 7\n</preference>\n");
      const reload = await ctl(server.socket, "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      await waitFor(
        async () => {
          const reply = await client.ask(informationRequest());
          return reply?.getOption(PreferenceOption)?.preference === 7;
        },
        15_000,
        "the reloaded configuration to answer",
      );
      assert.doesNotMatch(server.stderr(), /Not reloading/);
    } finally {
      client.close();
      await server.kill();
    }
    assert.equal((await server.status).code, 0, server.stderr());
    assert.equal(exists(server.pidFile), false, "PID file left behind");
    assert.equal(exists(server.socket), false, "control socket left behind");
    Deno.removeSync(dir, { recursive: true });
  },
});
