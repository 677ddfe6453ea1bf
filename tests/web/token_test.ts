/**
 * `<web-ui>` with `token-file` in a real server: without the token every page is refused (and the
 * browser asked for it), with it (Bearer or Basic) the pages are served; a token file that is
 * too short, and a non-loopback address without a token, stop the server from starting with one
 * line (the latter as a configuration error, FILE:LINE).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverIdConfig } from "../helpers/server.ts";
import {
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  SERVER_MAC,
  serveUntilExit,
  startServer,
  writeConfig,
} from "../ops/helpers.ts";

const TOKEN = "helpdesk-0123456789-token";

function config(port: number, web: string): string {
  return `workers 1
control-socket ctl.sock
pid-file server.pid
${serverIdConfig(SERVER_MAC)}
<listen-unicast ::1>
    port ${port}
</listen-unicast>
<web-ui>
${web}
</web-ui>
`;
}

Deno.test("web UI with token-file: refused without the token, served with it", async () => {
  const dir = makeWorkDir();
  const webPort = freeTcpPort();
  writeConfig(join(dir, "token"), TOKEN + "\n");
  writeConfig(
    join(dir, "server.conf"),
    config(freeUdpPort(), `    port ${webPort}\n    token-file token`),
  );
  const server = await startServer(dir);
  try {
    const base = `http://[::1]:${webPort}`;
    const get = async (path: string, authorization?: string) => {
      const r = await fetch(base + path, authorization ? { headers: { authorization } } : {});
      await r.body?.cancel();
      return r;
    };
    for (const path of ["/", "/subscribers?q=x", "/transactions", "/explain", "/rates.json"]) {
      const r = await get(path);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    }
    assert.equal((await get("/", `Bearer ${TOKEN}x`)).status, 401);
    assert.equal((await get("/", `Bearer ${TOKEN}`)).status, 200);
    assert.equal((await get("/transactions", `Basic ${btoa(`anyone:${TOKEN}`)}`)).status, 200);
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("web UI: a short token or an open address without one keeps the server from starting", async () => {
  const dir = makeWorkDir();
  try {
    writeConfig(join(dir, "token"), "short\n");
    writeConfig(
      join(dir, "server.conf"),
      config(freeUdpPort(), `    port ${freeTcpPort()}\n    token-file token`),
    );
    const short = await serveUntilExit(dir);
    assert.notEqual(short.code, 0);
    const lines = short.stderr.trim().split("\n");
    assert.equal(lines.length, 1, short.stderr);
    assert.match(lines[0], /the web UI token in .*token is shorter than 16 characters/);

    writeConfig(join(dir, "server.conf"), config(freeUdpPort(), "    address 2001:db8::10"));
    const open = await serveUntilExit(dir);
    assert.notEqual(open.code, 0);
    assert.match(
      open.stderr,
      new RegExp(
        `${
          join(dir, "server.conf")
        }:\\d+: the web UI on 2001:db8::10 \\(not a loopback address\\) ` +
          "needs a token-file",
      ),
    );
    assert.ok(!open.stderr.includes("    at "), "no stack trace");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
