/**
 * Giving up root after the sockets are bound, and taking it back briefly when the server must
 * act as root again (re-reading a root-only configuration or binding port 547 on reload,
 * removing its PID file and control socket from a root-owned folder on exit).
 *
 * Like the original DHCPKit, only the effective user and group change: the saved user stays
 * root so it can be regained. Under systemd the capability bounding set limits what root could
 * do anyway (see systemd/dhcpkit.service).
 * @module
 */

import process from "node:process";

/** Look up a user's uid and primary gid in /etc/passwd. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  for (const line of readLines("/etc/passwd")) {
    const f = line.split(":");
    if (f[0] === name || f[2] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** Look up a group's gid in /etc/group. */
export function lookupGroup(name: string): number | undefined {
  for (const line of readLines("/etc/group")) {
    const f = line.split(":");
    if (f[0] === name || f[2] === name) return Number(f[2]);
  }
  return undefined;
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l && !l.startsWith("#"));
  } catch {
    return [];
  }
}

/** The identity the server runs as after start-up, when it started as root. */
let dropped: { uid: number; gid: number } | undefined;

/**
 * Switch the effective user and group to `user` / `group` when running as root. Returns a message
 * describing what happened, or throws when the user or group does not exist.
 */
export function dropPrivileges(user: string, group?: string): string {
  if (Deno.uid() !== 0 && dropped === undefined) {
    return `not running as root; staying uid ${Deno.uid()}`;
  }
  const account = lookupUser(user);
  if (!account) throw new Error(`user ${user} does not exist`);
  const gid = group === undefined ? account.gid : lookupGroup(group);
  if (gid === undefined) throw new Error(`group ${group} does not exist`);
  if (dropped) restoreRoot();
  process.setegid!(gid);
  process.seteuid!(account.uid);
  dropped = { uid: account.uid, gid };
  return `now running as uid ${account.uid}, gid ${gid}`;
}

function restoreRoot(): void {
  process.seteuid!(0);
  process.setegid!(0);
}

function redrop(): void {
  if (!dropped) return;
  process.setegid!(dropped.gid);
  process.seteuid!(dropped.uid);
}

/**
 * Run `action` as root when the server started as root and dropped privileges; otherwise just
 * run it. Privileges are given up again afterwards, also when `action` fails.
 */
export async function withRoot<T>(action: () => T | Promise<T>): Promise<T> {
  if (!dropped) return await action();
  restoreRoot();
  try {
    return await action();
  } finally {
    redrop();
  }
}

/** Synchronous {@link withRoot} for clean-up paths that must not yield. */
export function withRootSync<T>(action: () => T): T {
  if (!dropped) return action();
  restoreRoot();
  try {
    return action();
  } finally {
    redrop();
  }
}
