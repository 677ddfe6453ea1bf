/**
 * Every subcommand answers an operator's mistake with one line `dhcpkit CMD: what is wrong`,
 * exit status 2 for wrong arguments and 1 for failures, never a stack trace: the real program
 * run as a subprocess with right and wrong arguments.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { assertOneLineError, MAIN, runCli } from "./helpers.ts";

/** A wrong command line, the command that must report it and the exit status. */
interface Case {
  args: string[];
  command: string;
  status: number;
  /** What the line must say. */
  says: RegExp;
  permissions?: string[];
}

const tmp = Deno.makeTempDirSync({ prefix: "dhcpkit-cli-errors-" });
const aFile = join(tmp, "a-file");
Deno.writeTextFileSync(aFile, "not a folder\n");
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

const CASES: Case[] = [
  // query
  { args: ["query", "--port", "abc"], command: "query", status: 2, says: /--port .*"abc"/ },
  { args: ["query", "--port", "70000"], command: "query", status: 2, says: /--port/ },
  { args: ["query", "--timeout", "x"], command: "query", status: 2, says: /--timeout .*"x"/ },
  { args: ["query", "--duid", "zz"], command: "query", status: 2, says: /--duid is not a DUID/ },
  { args: ["query", "--duid", "0001"], command: "query", status: 2, says: /--duid/ },
  { args: ["query", "frobnicate"], command: "query", status: 2, says: /TYPE must be one of/ },
  { args: ["query", "--bogus"], command: "query", status: 2, says: /unknown option --bogus/ },
  { args: ["query", "--address", "1.2.3"], command: "query", status: 2, says: /--address/ },
  { args: ["query", "--prefix", "2001:db8::"], command: "query", status: 2, says: /--prefix/ },
  { args: ["query", "--remote-id", "abc"], command: "query", status: 2, says: /--remote-id/ },
  { args: ["query", "--interface-id", "0xz"], command: "query", status: 2, says: /not hex/ },
  {
    args: ["query", "--server", "no-such-host.invalid", "--timeout", "1"],
    command: "query",
    status: 1,
    says: /unknown host no-such-host\.invalid/,
  },
  {
    args: ["query", "--port", "9"],
    command: "query",
    status: 1,
    says: /--allow-net/,
    permissions: [],
  },
  // leasequery
  {
    args: ["leasequery", "-p", "abc", "client-id", "0003000102"],
    command: "leasequery",
    status: 2,
    says: /--port/,
  },
  {
    args: ["leasequery", "-w", "x", "client-id", "0003000102"],
    command: "leasequery",
    status: 2,
    says: /--timeout/,
  },
  { args: ["leasequery"], command: "leasequery", status: 2, says: /missing QUERY/ },
  {
    args: ["leasequery", "-s", "::1", "nonsense"],
    command: "leasequery",
    status: 2,
    says: /unknown query/,
  },
  {
    args: ["leasequery", "-s", "::1", "client-id", "00030001020000000001"],
    command: "leasequery",
    status: 1,
    says: /--allow-net/,
    permissions: [],
  },
  // ctl
  { args: ["ctl"], command: "ctl", status: 2, says: /missing COMMAND/ },
  { args: ["ctl", "--timeout", "x", "stats"], command: "ctl", status: 2, says: /--timeout/ },
  {
    args: ["ctl", "-c", join(tmp, "no.sock"), "stats"],
    command: "ctl",
    status: 1,
    says: /no server: control socket .*no\.sock does not exist/,
  },
  {
    args: ["ctl", "-c", aFile, "stats"],
    command: "ctl",
    status: 1,
    says: /control socket/,
  },
  // serve
  { args: ["serve"], command: "serve", status: 2, says: /CONFIG/ },
  { args: ["serve", "--bogus", "x.conf"], command: "serve", status: 2, says: /--bogus/ },
  {
    args: ["serve", join(tmp, "missing.conf")],
    command: "serve",
    status: 1,
    says: /missing\.conf: cannot read configuration file/,
  },
  // check-config
  { args: ["check-config"], command: "check-config", status: 2, says: /missing CONFIG/ },
  {
    args: ["check-config", "--bogus", "x"],
    command: "check-config",
    status: 2,
    says: /unknown option --bogus/,
  },
  {
    args: ["check-config", aFile],
    command: "check-config",
    status: 1,
    says: /--allow-read/,
    permissions: [`--allow-read=${join(tmp, "elsewhere")}`],
  },
  // config-docs
  {
    args: ["config-docs", "-o", aFile],
    command: "config-docs",
    status: 1,
    says: /a-file exists and is not a folder/,
  },
  { args: ["config-docs", "-o"], command: "config-docs", status: 2, says: /--output needs/ },
  // build-sqlite: 2 means "stale rows kept" there, so wrong arguments exit with 1.
  { args: ["build-sqlite", "only-one"], command: "build-sqlite", status: 1, says: /DEST/ },
  {
    args: ["build-sqlite", join(tmp, "missing.csv"), join(tmp, "db.sqlite")],
    command: "build-sqlite",
    status: 1,
    says: /missing\.csv: cannot/,
  },
  // decode
  { args: ["decode", "--bogus"], command: "decode", status: 2, says: /--bogus/ },
  {
    args: ["decode", "--pcap", join(tmp, "missing.pcap")],
    command: "decode",
    status: 1,
    says: /missing\.pcap/,
  },
  { args: ["decode", "zz"], command: "decode", status: 1, says: /not hex/ },
  // man, completion, help, unknown commands
  { args: ["man", "frobnicate"], command: "man", status: 2, says: /unknown command/ },
  { args: ["man", "-o", aFile], command: "man", status: 1, says: /not a folder/ },
  { args: ["completion", "zsh"], command: "completion", status: 2, says: /only bash/ },
  { args: ["help", "frobnicate"], command: "help", status: 2, says: /unknown command/ },
  { args: ["frobnicate"], command: "", status: 2, says: /unknown command "frobnicate"/ },
];

for (const c of CASES) {
  Deno.test(`one-line error: dhcpkit ${c.args.join(" ")}`, async () => {
    const result = await runCli(c.args, { permissions: c.permissions });
    const line = assertOneLineError(result, c.command, c.status);
    assert.match(line, c.says);
    assert.doesNotMatch(line, /Uncaught|TypeError|undefined/);
  });
}

Deno.test("right arguments: exit 0 with output and nothing on stderr", async () => {
  for (
    const args of [
      ["help"],
      ["--help"],
      ["version"],
      ["--version"],
      ["decode", "0b1234560008000200000006000400170018"],
      ["check-config", "--no-host-checks", "examples/isp.conf"],
      ["completion", "bash"],
      ["man", "query"],
    ]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, "", args.join(" "));
    assert.notEqual(r.stdout, "", args.join(" "));
  }
});

Deno.test("files the user cannot read or write: one line each (run as nobody)", async () => {
  const setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
  if (Deno.uid() !== 0) {
    console.log("note: skipped: needs root to run the program as nobody (setpriv)");
    return;
  }
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-cli-unreadable-" });
  try {
    Deno.chmodSync(dir, 0o755);
    Deno.writeTextFileSync(join(dir, "secret.pcap"), "x");
    Deno.writeTextFileSync(join(dir, "secret.csv"), "id,address,prefix\n");
    Deno.chmodSync(join(dir, "secret.pcap"), 0o600);
    Deno.chmodSync(join(dir, "secret.csv"), 0o600);
    const cases: [string[], string, RegExp][] = [
      [
        ["decode", "--pcap", join(dir, "secret.pcap")],
        "decode",
        /secret\.pcap: .*permission denied/i,
      ],
      [
        ["build-sqlite", join(dir, "secret.csv"), join(dir, "x.db")],
        "build-sqlite",
        /permission denied/i,
      ],
      [
        ["config-docs", "-o", join(dir, "new")],
        "config-docs",
        /cannot create .*new: permission denied/i,
      ],
    ];
    for (const [args, command, says] of cases) {
      let out;
      try {
        out = await new Deno.Command(setpriv[0], {
          args: [...setpriv.slice(1), Deno.execPath(), "run", "-q", "-A", MAIN, ...args],
          cwd: dir,
          env: { NO_COLOR: "1", HOME: dir },
          stdout: "piped",
          stderr: "piped",
        }).output();
      } catch {
        console.log("note: skipped: setpriv (util-linux) is not installed");
        return;
      }
      const d = new TextDecoder();
      const result = { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
      assert.match(assertOneLineError(result, command, 1), says);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
