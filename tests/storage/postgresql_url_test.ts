import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConnectionUrlError,
  parseConnectionUrl,
  PasswordFileError,
  passwordFileWarning,
  readPasswordFile,
  redactUrl,
} from "../../src/storage/postgresql/mod.ts";

Deno.test("postgresql url: unix socket folder in the host parameter", () => {
  const t = parseConnectionUrl("postgresql://dhcpkit@/dhcp?host=/run/postgresql");
  assert.equal(t.socket, true);
  assert.equal(t.host, "/run/postgresql");
  assert.equal(t.port, 5432);
  assert.equal(t.user, "dhcpkit");
  assert.equal(t.database, "dhcp");
  assert.equal(t.description, "postgresql://dhcpkit@/dhcp?host=/run/postgresql");
});

Deno.test("postgresql url: TCP host and port, IPv6 literal, defaults", () => {
  const t = parseConnectionUrl("postgresql://dk@db.example.net:6543/leases");
  assert.deepEqual([t.socket, t.host, t.port, t.database], [
    false,
    "db.example.net",
    6543,
    "leases",
  ]);
  assert.equal(t.description, "postgresql://dk@db.example.net:6543/leases");
  const v6 = parseConnectionUrl("postgres://dk@[2001:db8::5]:5433/x?sslmode=require");
  assert.deepEqual([v6.host, v6.port, v6.sslmode], ["2001:db8::5", 5433, "require"]);
  assert.equal(v6.description, "postgresql://dk@[2001:db8::5]:5433/x?sslmode=require");
  // No host: Debian's socket folder; no database: the user's name.
  const d = parseConnectionUrl("postgresql://dk@");
  assert.deepEqual([d.host, d.socket, d.database], ["/run/postgresql", true, "dk"]);
  // Percent-encoded socket folder in the host part, as libpq allows.
  const enc = parseConnectionUrl("postgresql://dk@%2Fvar%2Frun%2Fpg:5440/db");
  assert.deepEqual([enc.host, enc.socket, enc.port], ["/var/run/pg", true, 5440]);
  assert.equal(enc.description, "postgresql://dk@/db?host=/var/run/pg&port=5440");
});

Deno.test("postgresql url: mistakes are explained, passwords refused and never echoed", () => {
  const cases: [string, RegExp][] = [
    ["mysql://dk@/x", /is not a PostgreSQL URL/],
    ["postgresql:///x", /names no user/],
    ["postgresql://dk:hunter2@/x", /contains a password: put it in a password file/],
    ["postgresql://dk@/x?password=hunter2", /contains a password/],
    ["postgresql://dk@/x?sslmode=sometimes", /sslmode "sometimes" is not one of/],
    ["postgresql://dk@/x?colour=red", /unknown URL parameter "colour"/],
    ["postgresql://dk@h:99999/x", /port "99999" is not a number 1-65535/],
    ["postgresql://dk@a,b/x", /only one host/],
    ["postgresql://dk@[2001:db8::1/x", /without '\]'/],
    ["postgresql://dk@/x?connect_timeout=soon", /connect_timeout "soon" is not seconds/],
  ];
  for (const [url, expected] of cases) {
    assert.throws(() => parseConnectionUrl(url), (e: Error) => {
      assert.ok(e instanceof ConnectionUrlError, url);
      assert.match(e.message, expected, url);
      assert.ok(!e.message.includes("hunter2"), `${url}: ${e.message}`);
      return true;
    });
  }
  assert.equal(redactUrl("postgresql://dk:hunter2@h/x"), "postgresql://dk:***@h/x");
  assert.equal(
    redactUrl("postgresql://dk@h/x?password=hunter2&a=1"),
    "postgresql://dk@h/x?password=***&a=1",
  );
});

Deno.test("postgresql url: no parse error ever contains what follows a colon in the user part", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }).filter((s) => !/[@/?#]/.test(s)),
      fc.string(),
      (secret, rest) => {
        const url = `postgresql://u:${secret}@${rest}`;
        try {
          parseConnectionUrl(url);
          return false; // a password must be refused
        } catch (e) {
          return !(e as Error).message.includes(`:${secret}@`);
        }
      },
    ),
  );
});

Deno.test("password file: first line, line end removed; problems name the file only", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/p`, "s3cret pass\r\nsecond line\n", { mode: 0o600 });
    assert.equal(readPasswordFile(`${dir}/p`), "s3cret pass");
    Deno.writeTextFileSync(`${dir}/n`, "no newline");
    assert.equal(readPasswordFile(`${dir}/n`), "no newline");
    Deno.writeTextFileSync(`${dir}/e`, "\nhidden\n");
    assert.throws(() => readPasswordFile(`${dir}/e`), (e: Error) => {
      assert.ok(e instanceof PasswordFileError);
      assert.match(e.message, /the first line is empty/);
      assert.ok(!e.message.includes("hidden"));
      return true;
    });
    assert.throws(
      () => readPasswordFile(`${dir}/missing`),
      /password file .*missing: cannot read it \(no such file\)/,
    );
    Deno.chmodSync(`${dir}/p`, 0o644);
    assert.match(passwordFileWarning(`${dir}/p`)!, /readable by everybody \(mode 0644\)/);
    Deno.chmodSync(`${dir}/p`, 0o640);
    assert.equal(passwordFileWarning(`${dir}/p`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
