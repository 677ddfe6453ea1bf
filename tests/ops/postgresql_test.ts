/**
 * A real `dhcpkit serve` with PostgreSQL sections and bad input, on a cluster of the test's own:
 * an unreachable URL, a wrong password, a missing table and a schema from a newer dhcpkit stop the
 * server from starting with one line naming the database (never the password), and no half-started
 * server is left behind. A running server with a malformed row answers the other clients, not
 * that one, and says which row of which table is wrong.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { postgresTest } from "../helpers/postgres.ts";
import {
  baseConfig,
  ctl,
  freeUdpPort,
  makeWorkDir,
  serveUntilExit,
  startServer,
  writeConfig,
} from "./helpers.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** Run `dhcpkit serve` on `config` until it exits (at most 60 s); exit code and stderr. */
/** Write `config` as `dir/server.conf` and run the server until it exits. */
function serveConfigUntilExit(dir: string, config: string) {
  writeConfig(join(dir, "server.conf"), config);
  return serveUntilExit(dir, 60_000);
}

postgresTest("serve with PostgreSQL sections: bad input stops the start", async (pg, t) => {
  const secret = "the server's secret";
  const passwordFile = await pg.createRole("dhcpkit", secret);
  await pg.createDatabase("dhcp");
  await pg.sql("ALTER DATABASE dhcp OWNER TO dhcpkit");
  await pg.sql(
    "CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT); " +
      "ALTER TABLE assignments OWNER TO dhcpkit",
    "dhcp",
  );
  const wrongPassword = join(pg.dir, "wrong.password");
  Deno.writeTextFileSync(wrongPassword, "not the secret\n", { mode: 0o644 });
  const url = pg.url("dhcpkit", "dhcp");
  const staticSection = (u: string, file: string, extra = "") =>
    `<static-postgresql ${u}>\n    password-file ${file}\n${extra}</static-postgresql>\n`;
  const lqSection = (u: string, file: string) =>
    `<leasequery>\n    <lq-postgresql ${u}>\n        password-file ${file}\n    </lq-postgresql>\n` +
    "</leasequery>\n";

  const cases: [string, string, RegExp][] = [
    [
      "unreachable URL",
      staticSection(`postgresql://dhcpkit@/dhcp?host=${pg.dir}/nowhere`, passwordFile),
      /postgresql:\/\/dhcpkit@\/dhcp\?host=.*\/nowhere: cannot connect: no server listening on/,
    ],
    [
      "wrong password",
      staticSection(url, wrongPassword),
      /postgresql:\/\/dhcpkit@\/dhcp\?host=.*: cannot connect: password authentication failed for user "dhcpkit"/,
    ],
    [
      "missing table",
      staticSection(url, passwordFile, "    table customers\n"),
      /cannot read table customers: relation "customers" does not exist .*build-postgresql/,
    ],
    [
      "lease store, wrong password",
      lqSection(url, wrongPassword),
      /postgresql:\/\/dhcpkit@\/dhcp\?host=.*: cannot connect: password authentication failed/,
    ],
  ];
  for (const [name, section, expected] of cases) {
    await t.step(name, async () => {
      const dir = makeWorkDir();
      try {
        const { code, stderr } = await serveConfigUntilExit(
          dir,
          baseConfig(freeUdpPort(), section),
        );
        assert.equal(code, 1, stderr);
        const line = stderr.split("\n").find((l) => l.startsWith("dhcpkit serve: "));
        assert.ok(line, `no "dhcpkit serve:" line in:\n${stderr}`);
        assert.match(line, expected);
        assert.ok(!stderr.includes(secret), "the password never appears");
        // Nothing half-started is left: no control socket answers, no PID file.
        for (const file of ["ctl.sock", "server.pid"]) {
          assert.throws(() => Deno.statSync(join(dir, file)), `${file} left behind`);
        }
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    });
  }

  await t.step("a lease schema from a newer dhcpkit", async () => {
    const dir = makeWorkDir();
    try {
      await pg.sql(
        "CREATE TABLE dhcpkit_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL, " +
          "updated TIMESTAMPTZ NOT NULL DEFAULT now()); ALTER TABLE dhcpkit_schema OWNER TO " +
          "dhcpkit; INSERT INTO dhcpkit_schema (component, version) VALUES ('leasequery', 7)",
        "dhcp",
      );
      const { code, stderr } = await serveConfigUntilExit(
        dir,
        baseConfig(freeUdpPort(), lqSection(url, passwordFile)),
      );
      assert.equal(code, 1, stderr);
      assert.match(stderr, /dhcpkit serve: .*the leasequery schema is at version 7, newer than/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });

  await t.step(
    "a malformed row: its client is not answered, the log names the table and row",
    async () => {
      await pg.sql(
        "INSERT INTO assignments VALUES ('duid:00030001020000000b01', '2001:db8::zz', NULL), " +
          "('duid:00030001020000000b02', '2001:db8::b2', NULL)",
        "dhcp",
      );
      const dir = makeWorkDir();
      const port = freeUdpPort();
      writeConfig(join(dir, "server.conf"), baseConfig(port, staticSection(url, passwordFile)));
      const server = await startServer(dir, ["-v", "-v"]);
      try {
        const query = async (duid: string) => {
          const out = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              MAIN,
              "query",
              "solicit",
              "--server",
              "::1",
              "--port",
              `${port}`,
              "--duid",
              duid,
              "--timeout",
              "2",
            ],
            stdin: "null",
          }).output();
          return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
        };
        const good = await query("00030001020000000b02");
        assert.equal(good.code, 0);
        assert.match(good.stdout, /2001:db8::b2/);
        const bad = await query("00030001020000000b01");
        assert.equal(bad.code, 1, `the client of a malformed row got an answer: ${bad.stdout}`);
        assert.match(
          server.stderr(),
          /PostgreSQL table assignments in postgresql:\/\/dhcpkit@\/dhcp\?host=\S+: row duid:00030001020000000b01 is malformed: address "2001:db8::zz" is not an IPv6 address/,
        );
        const stats = await ctl(server.socket, "stats");
        assert.match(stats.stdout, /Lookup failures: 1\b/);
        assert.match(stats.stdout, /Handling errors: 0\b/);
      } finally {
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  );
});
