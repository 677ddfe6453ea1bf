import assert from "node:assert/strict";
import {
  acquirePool,
  DatabaseOpenError,
  DatabaseUnavailableError,
  latestVersion,
  migrate,
  parseConnectionUrl,
  PostgresPool,
  SchemaError,
  type SchemaSpec,
  schemaVersion,
} from "../../src/storage/postgresql/mod.ts";
import { postgresTest } from "../helpers/postgres.ts";

const SPEC: SchemaSpec = {
  component: "test",
  migrations: [
    { version: 1, description: "table t", statements: ["CREATE TABLE t (id TEXT PRIMARY KEY)"] },
    {
      version: 2,
      description: "column v",
      statements: ["ALTER TABLE t ADD COLUMN v INTEGER", "CREATE INDEX t_v ON t (v)"],
    },
  ],
};

postgresTest("postgresql pool", async (pg, t) => {
  const password = "Pool pass 1";
  const passwordFile = await pg.createRole("dk", password);
  await pg.createDatabase("dk");
  await pg.sql("ALTER DATABASE dk OWNER TO dk");
  const target = parseConnectionUrl(pg.url("dk", "dk"));

  await t.step("connects with the password file; queries are prepared statements", async () => {
    const pool = new PostgresPool(target, { passwordFile, size: 2 });
    try {
      await pool.open();
      const rows = await pool.query<{ n: number }>("SELECT $1::int + 1 AS n", [41]);
      assert.equal(rows[0].n, 42);
      await pool.query("SELECT $1::text AS a", ["x"]);
      const prepared = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_prepared_statements",
      );
      assert.ok(Number(prepared[0].n) >= 1, "named prepared statements on the connection");
    } finally {
      await pool.close();
    }
  });

  await t.step("start-up failures name the database and never the password", async () => {
    const cases: [string, string | undefined, RegExp][] = [
      [pg.url("dk", "dk"), undefined, /cannot connect: .*(password|SASL)/i],
      [
        pg.url("dk", "nosuchdb"),
        passwordFile,
        /database "nosuchdb" does not exist \(SQLSTATE 3D000\)/,
      ],
      [
        `postgresql://dk@/dk?host=${pg.dir}/nowhere`,
        passwordFile,
        /no server listening on .*nowhere/,
      ],
    ];
    const wrong = `${pg.dir}/wrong.password`;
    Deno.writeTextFileSync(wrong, "not the password\n");
    cases.push([
      pg.url("dk", "dk"),
      wrong,
      /password authentication failed for user "dk" \(SQLSTATE 28P01\)/,
    ]);
    for (const [url, file, expected] of cases) {
      const pool = new PostgresPool(parseConnectionUrl(url), { passwordFile: file });
      try {
        await assert.rejects(pool.open(), (e: Error) => {
          assert.ok(e instanceof DatabaseOpenError);
          assert.match(e.message, /^postgresql:\/\/dk@\//);
          assert.match(e.message, expected);
          assert.ok(!e.message.includes(password), e.message);
          return true;
        });
      } finally {
        await pool.close();
      }
    }
  });

  await t.step(
    "while the server is down queries fail at once; they resume after restart",
    async () => {
      const pool = new PostgresPool(target, {
        passwordFile,
        size: 2,
        backoffMs: 50,
        maxBackoffMs: 200,
      });
      try {
        await pool.open();
        assert.equal(pool.up, true);
        await pg.stopServer();
        await assert.rejects(pool.query("SELECT 1"));
        assert.equal(pool.up, false);
        // Refused without waiting for the network until the next attempt is due.
        await assert.rejects(pool.query("SELECT 1"), DatabaseUnavailableError);
        assert.ok(pool.refused >= 1);
        await pg.startServer();
        let ok = false;
        for (let i = 0; i < 100 && !ok; i++) {
          try {
            await pool.query("SELECT 1");
            ok = true;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.ok(ok, "queries work again without a new pool");
        assert.equal(pool.up, true);
      } finally {
        if (!pg.running) await pg.startServer();
        await pool.close();
      }
    },
  );

  await t.step("at most maxPending queries wait; the rest are refused", async () => {
    const pool = new PostgresPool(target, { passwordFile, size: 1, maxPending: 3 });
    try {
      await pool.open();
      const slow = [1, 2, 3].map(() => pool.query("SELECT pg_sleep(0.2)"));
      await assert.rejects(pool.query("SELECT 1"), /3 queries waiting already/);
      await Promise.all(slow);
      await pool.query("SELECT 1");
    } finally {
      await pool.close();
    }
  });

  await t.step("sections naming the same database share one pool per worker", async () => {
    const a = acquirePool(target, { passwordFile, size: 2 });
    const b = acquirePool(target, { passwordFile, size: 2 });
    const c = acquirePool(target, { passwordFile, size: 3 });
    try {
      assert.equal(a, b);
      assert.notEqual(a, c);
      assert.equal(acquirePool(target, { passwordFile, size: 1 }), c);
      await c.release();
    } finally {
      await a.release();
      await b.release();
      await c.release();
    }
  });

  await t.step("migrations: created once, concurrent starts, newer schema refused", async () => {
    const pools = [1, 2, 3].map(() => new PostgresPool(target, { passwordFile }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, SPEC)));
      assert.deepEqual(results.map((r) => r.to), [2, 2, 2]);
      assert.equal(results.filter((r) => r.from === 0).length, 1, "one of them migrated");
      assert.equal(await schemaVersion(pools[0], "test"), 2);
      assert.deepEqual(await migrate(pools[0], SPEC), { from: 2, to: 2 });
      // Version 1 only → upgraded to 2.
      await pg.sql("DROP TABLE t; DELETE FROM dhcpkit_schema", "dk");
      await migrate(pools[0], { ...SPEC, migrations: SPEC.migrations.slice(0, 1) });
      assert.equal(await schemaVersion(pools[0], "test"), 1);
      assert.deepEqual(await migrate(pools[0], SPEC), { from: 1, to: 2 });
      await pools[0].query("INSERT INTO t (id, v) VALUES ('a', 1)");
      // A newer program wrote version 3: refused, nothing changed.
      await pg.sql("UPDATE dhcpkit_schema SET version = 3 WHERE component = 'test'", "dk");
      await assert.rejects(migrate(pools[0], SPEC), (e: Error) => {
        assert.ok(e instanceof SchemaError);
        assert.match(e.message, /test schema is at version 3, newer than the 2 this dhcpkit knows/);
        return true;
      });
      assert.equal(latestVersion(SPEC), 2);
      // A failing migration changes nothing.
      await pg.sql("UPDATE dhcpkit_schema SET version = 2 WHERE component = 'test'", "dk");
      const broken: SchemaSpec = {
        component: "test",
        migrations: [...SPEC.migrations, {
          version: 3,
          description: "broken",
          statements: ["ALTER TABLE t ADD COLUMN w INTEGER", "SELECT * FROM nonexistent"],
        }],
      };
      await assert.rejects(
        migrate(pools[0], broken),
        /cannot create or update the test schema: .*nonexistent/,
      );
      assert.equal(await schemaVersion(pools[0], "test"), 2);
      assert.equal(
        await pg.sql(
          "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'w'",
          "dk",
        ),
        "0",
      );
    } finally {
      for (const p of pools) await p.close();
    }
  });

  await t.step(
    "a role that may only read uses a current schema without creating anything",
    async () => {
      const roFile = await pg.createRole("reader", "read only");
      await pg.sql("GRANT SELECT ON t, dhcpkit_schema TO reader", "dk");
      await pg.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", "dk");
      const pool = new PostgresPool(parseConnectionUrl(pg.url("reader", "dk")), {
        passwordFile: roFile,
      });
      try {
        assert.deepEqual(await migrate(pool, SPEC), { from: 2, to: 2 });
      } finally {
        await pool.close();
      }
    },
  );
});
