/**
 * The host facts the configuration checks and the server uses come from one place: the
 * interfaces (names, indexes, addresses and their kinds) and the user and group accounts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { groupName, interfaceName, userName, type ValueContext } from "../../src/config/mod.ts";
import { groupLabel, lookupGroup, lookupUser } from "../../src/config/accounts.ts";
import { hostInterfaces, isGlobalUnicast, isLinkLocal } from "../../src/server/interfaces.ts";

const hostCtx: ValueContext = { configDir: "/", hostChecks: true };
const REPO = new URL("../..", import.meta.url).pathname;
const CONFIG = join(REPO, "deno.json");

/** The names in /sys/class/net, or undefined where there is no such folder. */
function sysNames(): string[] | undefined {
  try {
    return [...Deno.readDirSync("/sys/class/net")].map((e) => e.name).sort();
  } catch {
    return undefined;
  }
}

function accepts(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

Deno.test("host: the configuration accepts an interface exactly when the server knows it", () => {
  const known = hostInterfaces().map((i) => i.name);
  const names = [...new Set([...known, ...(sysNames() ?? []), "dhcpkit-none0"])];
  for (const name of names) {
    assert.equal(known.includes(name), accepts(() => interfaceName.parse(name, hostCtx)), name);
  }
  const sys = sysNames();
  if (sys) {
    assert.deepEqual([...known].sort(), sys);
    for (const iface of hostInterfaces()) {
      const index = Number(Deno.readTextFileSync(`/sys/class/net/${iface.name}/ifindex`));
      assert.equal(iface.index, index, iface.name);
    }
  }
});

const canNetns = Deno.build.os === "linux" && Deno.uid() === 0 &&
  new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
if (!canNetns) console.warn("host_test: netns case skipped, needs root and iproute2 (ip netns)");

Deno.test({
  name: "host: in a new network namespace (lo, no addresses) configuration and server agree",
  ignore: !canNetns,
  fn() {
    const ns = `dhcpkit-host-${Deno.pid}`;
    const ip = (...args: string[]) => new Deno.Command("ip", { args }).outputSync();
    assert.ok(ip("netns", "add", ns).success, "ip netns add");
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-host-" });
    const src = (path: string) => JSON.stringify(join(REPO, path));
    try {
      const script = join(dir, "list.ts");
      Deno.writeTextFileSync(
        script,
        `import { hostInterfaces } from ${src("src/server/interfaces.ts")};\n` +
          `import { interfaceName } from ${src("src/config/datatypes.ts")};\n` +
          "let accepted = true;\n" +
          "try { interfaceName.parse('lo', { configDir: '/', hostChecks: true }); }\n" +
          "catch { accepted = false; }\n" +
          "console.log(JSON.stringify({ list: hostInterfaces(), accepted }));\n",
      );
      const run = (permissions: string[]) => {
        const out = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            ns,
            Deno.execPath(),
            "run",
            "--config",
            CONFIG,
            ...permissions,
            script,
          ],
        }).outputSync();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        return JSON.parse(new TextDecoder().decode(out.stdout));
      };
      // With --allow-all Deno lets /sys be read: lo is listed although it has no address.
      const all = run(["--allow-all"]);
      assert.deepEqual(all.list, [{
        name: "lo",
        index: 1,
        mac: "00:00:00:00:00:00",
        linkLocal: [],
        global: [],
        ipv6: [],
      }]);
      assert.equal(all.accepted, true);
      // Without it only interfaces with an address are seen, by both.
      const some = run(["--allow-sys", "--allow-read"]);
      assert.deepEqual(some, { list: [], accepted: false });
    } finally {
      ip("netns", "delete", ns);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("host: address kinds are read from the bytes, not the spelling", () => {
  assert.equal(isLinkLocal("fe80::1"), true);
  assert.equal(isLinkLocal("FEBF::1"), true);
  assert.equal(isLinkLocal("fe8::1"), false); // 0fe8::1
  assert.equal(isGlobalUnicast("fe8::1"), true);
  assert.equal(isGlobalUnicast("ff::1"), true); // 00ff::1, not multicast
  assert.equal(isGlobalUnicast("ff02::1"), false);
  assert.equal(isGlobalUnicast("0::1"), false);
  assert.equal(isGlobalUnicast("::"), false);
  assert.equal(isGlobalUnicast("2001:db8::1"), true);
});

Deno.test("host: accounts are read by name or number, skipping what is not an account", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-accounts-" });
  try {
    const passwd = join(dir, "passwd");
    const group = join(dir, "group");
    Deno.writeTextFileSync(
      passwd,
      "# comment\n\nroot:x:0:0:root:/root:/bin/sh\nbroken:x\nodd:x:abc:1:::\n" +
        "dhcpkit:x:120:130::/nonexistent:/usr/sbin/nologin\n",
    );
    Deno.writeTextFileSync(group, "root:x:0:\nbad\ndhcpkit:x:130:\nstaff:x:50:a,b\n");
    assert.deepEqual(lookupUser("root", passwd), { uid: 0, gid: 0 });
    assert.deepEqual(lookupUser("dhcpkit", passwd), { uid: 120, gid: 130 });
    assert.deepEqual(lookupUser("120", passwd), { uid: 120, gid: 130 });
    assert.equal(lookupUser("broken", passwd), undefined);
    assert.equal(lookupUser("odd", passwd), undefined);
    assert.equal(lookupUser("nobody-here", passwd), undefined);
    assert.equal(lookupUser("root", join(dir, "missing")), undefined);
    assert.equal(lookupGroup("dhcpkit", group), 130);
    assert.equal(lookupGroup("50", group), 50);
    assert.equal(lookupGroup("bad", group), undefined);
    assert.equal(groupLabel(50, group), "staff (50)");
    assert.equal(groupLabel(77, group), "77");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("host: the configuration's user and group checks use the same accounts", () => {
  for (const name of ["root", "0", "dhcpkit-no-such-user"]) {
    assert.equal(
      accepts(() => userName.parse(name, hostCtx)),
      lookupUser(name) !== undefined,
      name,
    );
    assert.equal(
      accepts(() => groupName.parse(name, hostCtx)),
      lookupGroup(name) !== undefined,
      name,
    );
  }
});
