/**
 * Static assignments end to end (root only): `dhclient -6` and `dhclient -6 -P` in a client
 * namespace get the address and prefix that `<static-csv>` / `<static-sqlite>` assign to the
 * server interface name (a directly connected client), from a pool of workers; a row changed in
 * the SQLite database is handed out without a reload; a broken CSV file keeps the server from
 * starting, with a message naming the file and line.
 *
 * The clients run only a recorder script of ours and keep every file in the test's temporary
 * folder; namespaces and processes are removed by `withTopology`.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { serverIdConfig } from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import {
  directTopology,
  e2eTest,
  REPO_ROOT,
  run,
  SERVER_PERMISSIONS,
  withTopology,
} from "./netns.ts";

const SERVER_ID = serverIdConfig();

const CSV = [
  "id,address,prefix,comment",
  "interface-id-str:srv0,2001:db8:5::42,2001:db8:500::/56,direct clients on srv0",
  "interface-id-str:other,2001:db8:5::43,,not used",
].join("\r\n") + "\r\n";

e2eTest(
  "e2e static: dhclient gets the address and prefix of <static-csv> from the workers",
  { root: true, commands: DHCLIENT },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await directTopology(t);
      const csv = t.path("assignments.csv");
      await Deno.writeTextFile(csv, CSV);
      await t.startServer({
        namespace: srv,
        config: `workers 2\n${SERVER_ID}\n<listen-interface srv0 />\n\n` +
          `<static-csv ${csv}>\n    address-preferred-lifetime 1h\n` +
          `    address-valid-lifetime 2h\n    prefix-preferred-lifetime 3h\n` +
          `    prefix-valid-lifetime 4h\n</static-csv>\n`,
      });
      const na = await startDhclient(t, cli, [], "dhclient-na");
      const bound = await t.waitRecorded(na.dir, /BOUND6/, 30_000);
      await na.client.stop();
      assert.equal(bound.new_ip6_address, "2001:db8:5::42");
      assert.equal(bound.new_preferred_life, "3600");
      assert.equal(bound.new_max_life, "7200");

      const pd = await startDhclient(t, cli, ["-P"], "dhclient-pd");
      const delegated = await t.waitRecorded(pd.dir, /BOUND6/, 30_000);
      await pd.client.stop();
      assert.equal(delegated.new_ip6_prefix, "2001:db8:500::/56");
      assert.equal(delegated.new_preferred_life, "10800");
      assert.equal(delegated.new_max_life, "14400");
    }),
);

e2eTest(
  "e2e static: <static-sqlite> built by build-sqlite; a changed row is used without reload",
  { root: true, commands: DHCLIENT },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await directTopology(t);
      const csv = t.path("assignments.csv");
      const db = t.path("assignments.sqlite");
      await Deno.writeTextFile(csv, CSV);
      await run(Deno.execPath(), [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "cli/main.ts",
        "build-sqlite",
        csv,
        db,
      ], { cwd: REPO_ROOT });
      await t.startServer({
        namespace: srv,
        config: `workers 2\n${SERVER_ID}\n<listen-interface srv0 />\n\n` +
          `<static-sqlite ${db}>\n</static-sqlite>\n`,
      });
      const first = await startDhclient(t, cli, [], "dhclient-1");
      assert.equal(
        (await t.waitRecorded(first.dir, /BOUND6/, 30_000)).new_ip6_address,
        "2001:db8:5::42",
      );
      await first.client.stop();

      const conn = new DatabaseSync(db);
      conn.prepare("UPDATE assignments SET address = '2001:db8:5::99' WHERE id = ?")
        .run(
          "interface-id:" +
            Array.from(new TextEncoder().encode("srv0"), (b) => b.toString(16)).join(""),
        );
      conn.close();
      const second = await startDhclient(t, cli, [], "dhclient-2");
      assert.equal(
        (await t.waitRecorded(second.dir, /BOUND6/, 30_000)).new_ip6_address,
        "2001:db8:5::99",
      );
      await second.client.stop();
    }),
);

e2eTest(
  "e2e static: a broken CSV file keeps the server from starting",
  { root: true },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dhcpkit-e2e-static-" });
    try {
      await Deno.writeTextFile(`${dir}/bad.csv`, "id;address\nduid:0001;2001:db8::1\n");
      await Deno.writeTextFile(
        `${dir}/dhcpkit.conf`,
        `user root\ngroup root\npid-file ${dir}/pid\ncontrol-socket ${dir}/sock\nworkers 2\n` +
          `${SERVER_ID}\n<static-csv bad.csv>\n</static-csv>\n`,
      );
      const result = await run(
        Deno.execPath(),
        ["run", ...SERVER_PERMISSIONS, "cli/main.ts", "serve", `${dir}/dhcpkit.conf`],
        { cwd: REPO_ROOT, check: false },
      );
      assert.notEqual(result.code, 0);
      assert.match(
        result.stdout + result.stderr,
        /bad\.csv: line 1 must be a header naming the columns id, address and prefix/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
