/**
 * What the operator guide tells an operator to type or write, done for real:
 *
 * - the `io-backend ffi` / `workers 2` lines of "The I/O backends": a server with them answers on
 *   the ffi backend, and without `--allow-ffi` refuses to start in one line;
 * - "Privileges": a server without `--allow-ffi` started with a supplementary group warns that it
 *   keeps it; started with the guide's `setpriv --clear-groups ...` it has none to keep (root);
 * - "Running under systemd": the shipped unit passes `systemd-analyze verify`, its
 *   `Documentation=` names pages that exist once installed as the guide says, and the guide's
 *   install commands put them there (run with `/usr/local` moved into a temporary folder).
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SCOPED_SERVER_PERMISSIONS } from "../helpers/server.ts";
import {
  e2eTest,
  freeUdpPort,
  ManagedProcess,
  REPO_ROOT,
  run,
  SERVER_PERMISSIONS,
  withTopology,
} from "../e2e/netns.ts";
import { codeBlock } from "./example_server.ts";

const GUIDE = "docs/operator-guide.md";

/** A loopback listener on a free port and the server DUID, the rest of a runnable file. */
function loopbackConfig(port: number): string {
  return `<duid-ll server-id>
    hardware-type 1
    link-layer-address 02:00:00:00:00:01
</duid-ll>

<listen-unicast ::1>
    port ${port}
</listen-unicast>
`;
}

/**
 * Start `deno run FLAGS cli/main.ts serve -vv CONFIG` through `prefix` (e.g. setpriv), with its
 * PID file and control socket next to CONFIG.
 */
function serve(
  prefix: string[],
  flags: readonly string[],
  config: string,
  label: string,
): ManagedProcess {
  const argv = [
    ...prefix,
    Deno.execPath(),
    "run",
    ...flags,
    "cli/main.ts",
    "serve",
    "-vv",
    "-p",
    `${config}.pid`,
    "-c",
    `${config}.sock`,
    config,
  ];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new ManagedProcess(label, child);
}

e2eTest(
  "operator guide: the io-backend ffi lines run on ffi, and refuse without --allow-ffi",
  {},
  () =>
    withTopology(async (t) => {
      const fragment = codeBlock(GUIDE, /^io-backend ffi/m);
      assert.equal(fragment.info, "", "a configuration fragment");
      const port = freeUdpPort();
      const config = t.path("io-backend.conf");
      await Deno.writeTextFile(config, fragment.text + loopbackConfig(port));

      const server = serve([], SERVER_PERMISSIONS, config, "serve (io-backend ffi)");
      t.processes.push(server);
      await server.waitFor(/Ready to handle requests/, 30_000);
      assert.match(server.stderr, /UDP I\/O backend: ffi\b/);
      const query = await run(Deno.execPath(), [
        "run",
        "--unstable-net",
        "--allow-net",
        "cli/main.ts",
        "query",
        "--port",
        String(port),
      ], { cwd: REPO_ROOT, check: false });
      assert.equal(query.code, 0, query.stderr);
      assert.match(query.stdout, /reply/i);
      await server.stop();

      const refused = serve([], SCOPED_SERVER_PERMISSIONS, config, "serve (no --allow-ffi)");
      t.processes.push(refused);
      const status = await refused.wait(30_000);
      assert.equal(status.code, 1);
      const lines = refused.stderr.trim().split("\n").filter((l) => !/\[(INFO|DEBUG)\]/.test(l));
      assert.equal(lines.length, 1, refused.stderr);
      assert.match(lines[0], /io-backend ffi needs the --allow-ffi permission/);
    }),
);

e2eTest("operator guide: setpriv --clear-groups starts the server without supplementary groups", {
  root: true,
  commands: { setpriv: "util-linux" },
}, () =>
  withTopology(async (t) => {
    const block = codeBlock(GUIDE, /setpriv --clear-groups/);
    const [command] = block.text.trim().split("\n");
    const words = command.split(/\s+/);
    assert.deepEqual(words.slice(0, 4), ["setpriv", "--clear-groups", "dhcpkit", "serve"]);
    const config = t.path("privileges.conf");
    await Deno.writeTextFile(config, loopbackConfig(freeUdpPort()));
    const KEEPS = /keeps the supplementary groups adm/;

    // Started with the group adm (4) and without --allow-ffi: the server says it keeps it.
    const withGroup = serve(
      ["setpriv", "--groups", "4"],
      SCOPED_SERVER_PERMISSIONS,
      config,
      "serve with group adm",
    );
    t.processes.push(withGroup);
    await withGroup.waitFor(/Ready to handle requests/, 30_000);
    assert.match(withGroup.stderr, KEEPS);
    await withGroup.stop();

    // The same, through the guide's command (`dhcpkit` is this checkout's cli/main.ts).
    const cleared = serve(
      ["setpriv", "--groups", "4", ...words.slice(0, 2)],
      SCOPED_SERVER_PERMISSIONS,
      config,
      "serve through setpriv --clear-groups",
    );
    t.processes.push(cleared);
    await cleared.waitFor(/Ready to handle requests/, 30_000);
    assert.doesNotMatch(cleared.stderr, /supplementary groups/);
  }));

/** The `Documentation=` entries of the shipped unit. */
function documentation(unit: string): string[] {
  return unit.split("\n").filter((l) => l.startsWith("Documentation=")).flatMap((l) =>
    l.slice("Documentation=".length).trim().split(/\s+/)
  );
}

e2eTest("systemd unit: verifies, and Documentation= names what the guide installs", {
  commands: { "systemd-analyze": "systemd", man: "man-db" },
}, () =>
  withTopology(async (t) => {
    const unit = await Deno.readTextFile(join(REPO_ROOT, "systemd/dhcpkit.service"));
    const docs = documentation(unit);
    assert.ok(docs.length >= 2, "a man page and the installed guide");
    assert.ok(docs.every((d) => /^(man|file):/.test(d)), `local documentation only: ${docs}`);

    // The guide's install commands, with /usr/local moved into the temporary folder. Until the
    // generated pages are in docs/man, stand-ins named as the unit names them are installed.
    const prefix = t.path("usr-local");
    const install = codeBlock(GUIDE, /install -D -m 644 -t \/usr\/local\/share\/doc\/dhcpkit/);
    let pages = "docs/man";
    if (!existsSync(join(REPO_ROOT, pages))) {
      console.log("note: docs/man is not in this checkout: stand-in pages are installed instead");
      pages = t.path("man");
      await Deno.mkdir(pages);
      for (const doc of docs.filter((d) => d.startsWith("man:"))) {
        const [, name, section] = /^man:(.+)\((\d)\)$/.exec(doc)!;
        await Deno.writeTextFile(
          join(pages, `${name}.${section}`),
          `.TH ${name.toUpperCase()} ${section}\n.SH NAME\n${name} \\- stand-in\n`,
        );
      }
    }
    const script = install.text.replaceAll("/usr/local", prefix).replaceAll("docs/man", pages);
    const installed = await run("bash", ["-euo", "pipefail", "-c", script], {
      cwd: REPO_ROOT,
      check: false,
    });
    assert.equal(installed.code, 0, installed.stderr);
    for (const doc of docs.filter((d) => d.startsWith("file:"))) {
      const path = doc.slice("file:".length).replace("/usr/local", prefix);
      assert.ok(existsSync(path), `${doc} is where the guide installs it`);
    }
    for (const doc of docs.filter((d) => d.startsWith("man:"))) {
      const [, name, section] = /^man:(.+)\((\d)\)$/.exec(doc)!;
      const page = join(prefix, `share/man/man${section}/${name}.${section}`);
      assert.ok(existsSync(page), `${doc} is installed as ${page}`);
    }

    // systemd-analyze verify on the shipped unit, its program replaced by a stand-in.
    const program = t.path("dhcpkit");
    await Deno.writeTextFile(program, "#!/bin/sh\nexit 0\n");
    await Deno.chmod(program, 0o755);
    const copy = t.path("dhcpkit.service");
    await Deno.writeTextFile(copy, unit.replaceAll("/usr/local/bin/dhcpkit", program));
    const verify = await run("env", [
      `MANPATH=${join(prefix, "share/man")}`,
      "systemd-analyze",
      "verify",
      "--man=yes",
      copy,
    ], { check: false });
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    // systemd-analyze also loads the machine's own units and warns about them (Debian's
    // freeradius.service uses MemoryLimit=): only what it says about other files is ignored.
    const others = /^\/(?:lib|usr\/lib|etc|run)\/systemd\/system\/[^:]+:\d+: /;
    const said = (verify.stderr + verify.stdout).split("\n").filter((l) =>
      l.trim() !== "" && !others.test(l)
    );
    assert.deepEqual(said, [], "no warnings about the dhcpkit unit");
  }));
