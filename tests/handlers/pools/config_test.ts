/**
 * Configuration mistakes around pools are `FILE:LINE` errors from `dhcpkit check-config`:
 * overlapping pools, an address pool outside its subnet, a delegated length shorter than the
 * pool's prefix, an unwritable lease store (also the default one in the state directory).
 */

import assert from "node:assert/strict";
import { runCli } from "../../cli/helpers.ts";

/** check-config on `config` with DIR a new folder of mode `mode` (default: anyone may write). */
async function check(config: string, mode = 0o777) {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-config-" });
  Deno.chmodSync(dir, mode);
  try {
    const file = `${dir}/pools.conf`;
    Deno.writeTextFileSync(file, config.replaceAll("DIR", dir));
    const r = await runCli(["check-config", file]);
    return { ...r, file, errors: r.stderr.trimEnd().split("\n").filter((l) => l) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("check-config: a good pool configuration passes", async () => {
  const r = await check(`
<lease-store-sqlite DIR/leases.sqlite />
<subnet 2001:db8:1::/64>
    <address-pool 2001:db8:1::1:0/112 />
    <prefix-pool 2001:db8:100::/40>
        delegated-length 56
    </prefix-pool>
</subnet>
`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
});

Deno.test("check-config: overlapping pools, a pool outside its subnet, a short delegated length", async () => {
  const r = await check(`<lease-store-sqlite DIR/leases.sqlite />
<address-pool 2001:db8:1::/112 />
<subnet 2001:db8:2::/64>
    <address-pool 2001:db8:1::80/121 />
    <address-pool 2001:db8:3::/120 />
</subnet>
<prefix-pool 2001:db8:100::/40>
    delegated-length 32
</prefix-pool>
<prefix-pool 2001:db8:180::/41>
    delegated-length 56
</prefix-pool>
`);
  assert.equal(r.code, 1);
  const at = (line: number) => r.errors.filter((e) => e.startsWith(`${r.file}:${line}: `));
  assert.match(at(4).join("\n"), /overlaps <address-pool 2001:db8:1::\/112> at .*:2/);
  assert.match(at(4).join("\n"), /is not inside its subnet 2001:db8:2::\/64/);
  assert.match(at(5)[0], /<address-pool 2001:db8:3::\/120> is not inside its subnet/);
  assert.match(
    at(8)[0],
    /delegated-length 32 is shorter than the pool's prefix 2001:db8:100::\/40/,
  );
  assert.match(at(10)[0], /overlaps <prefix-pool 2001:db8:100::\/40>/);
  assert.equal(r.errors.filter((e) => /\.conf:\d+: /.test(e)).length, 5, r.stderr);
  assert.match(r.errors.at(-1)!, /: 5 errors$/);
});

Deno.test("check-config: an unwritable lease store is an error at its line", async () => {
  const r = await check(`
<lease-store-sqlite /proc/dhcpkit-leases.sqlite />
<address-pool 2001:db8:1::/112 />
`);
  assert.equal(r.code, 1);
  assert.match(r.errors[0], /:2: lease store: \/proc\/dhcpkit-leases.sqlite is not writable/);
});

Deno.test("check-config: without a store the default in state-directory must be writable", async () => {
  const r = await check(`state-directory /proc
<address-pool 2001:db8:1::/112 />
`);
  assert.equal(r.code, 1);
  assert.match(
    r.errors[0],
    /:2: pools need a lease store: .*\/proc\/leases.sqlite is not writable/,
  );
  const ok = await check(`state-directory DIR
<address-pool 2001:db8:1::/112 />
`);
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("check-config: one lease store at most", async () => {
  const r = await check(`
<lease-store-sqlite DIR/a.sqlite />
<lease-store-sqlite DIR/b.sqlite />
`);
  assert.equal(r.code, 1);
  assert.ok(r.errors.some((e) => /lease-store/.test(e)), r.stderr);
});

Deno.test({
  name: "check-config as root: the store must be writable by the configured user, not by root",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const store = `user nobody
<lease-store-sqlite DIR/leases.sqlite />
<address-pool 2001:db8:1::/112 />
`;
    // A folder only root may write to: root could create the store, the server as nobody not.
    const r = await check(store, 0o755);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.errors[0],
      /pools\.conf:2: lease store: .*leases\.sqlite cannot be created by user nobody \(uid \d+, gid \d+\)/,
    );
    assert.equal((await check(store.replace("nobody", "root"), 0o755)).code, 0);
    assert.equal((await check(store, 0o777)).code, 0);
    // The default store in the state directory is judged the same way.
    const state = await check(
      "user nobody\nstate-directory DIR\n<address-pool 2001:db8:1::/112 />\n",
      0o700,
    );
    assert.equal(state.code, 1, state.stderr);
    assert.match(state.errors[0], /:3: pools need a lease store: .*by user nobody/);
  },
});
