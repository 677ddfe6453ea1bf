/**
 * Giving up root after the sockets are bound.
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

/**
 * Switch to `user` / `group` when running as root. Returns a message describing what happened, or
 * throws when the user or group does not exist.
 */
export function dropPrivileges(user: string, group?: string): string {
  if (Deno.uid() !== 0) return `not running as root; staying uid ${Deno.uid()}`;
  const account = lookupUser(user);
  if (!account) throw new Error(`user ${user} does not exist`);
  const gid = group === undefined ? account.gid : lookupGroup(group);
  if (gid === undefined) throw new Error(`group ${group} does not exist`);
  process.setgid!(gid);
  process.setuid!(account.uid);
  return `now running as uid ${account.uid}, gid ${gid}`;
}
