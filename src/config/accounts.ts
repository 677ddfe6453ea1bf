/**
 * User and group accounts from `/etc/passwd` and `/etc/group`: the one reader of those files,
 * for the configuration's host checks (`user`, `group`, control socket owners) and for the
 * server giving up root. Comment, empty and malformed lines are skipped; an unreadable file
 * reads as empty.
 * @module
 */

/** The password database. */
export const PASSWD_FILE = "/etc/passwd";
/** The group database. */
export const GROUP_FILE = "/etc/group";

/** A user's ids. */
export interface UserAccount {
  /** User id. */
  readonly uid: number;
  /** Primary group id. */
  readonly gid: number;
}

/** The lines of `file` split into fields, for lines with at least `fields` fields. */
function records(file: string, fields: number): string[][] {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return [];
  }
  const out: string[][] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length >= fields && f[0] !== "") out.push(f);
  }
  return out;
}

/** A decimal id, or undefined when `text` is not one. */
function id(text: string): number | undefined {
  return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/** The user named `nameOrUid` (a name or a numeric uid) in `file`, if there is one. */
export function lookupUser(nameOrUid: string, file = PASSWD_FILE): UserAccount | undefined {
  for (const f of records(file, 4)) {
    if (f[0] !== nameOrUid && f[2] !== nameOrUid) continue;
    const uid = id(f[2]), gid = id(f[3]);
    if (uid !== undefined && gid !== undefined) return { uid, gid };
  }
  return undefined;
}

/** The gid of the group named `nameOrGid` (a name or a numeric gid) in `file`, if there is one. */
export function lookupGroup(nameOrGid: string, file = GROUP_FILE): number | undefined {
  for (const f of records(file, 3)) {
    if (f[0] !== nameOrGid && f[2] !== nameOrGid) continue;
    const gid = id(f[2]);
    if (gid !== undefined) return gid;
  }
  return undefined;
}

/** `name (gid)` for a group id that has a name in `file`, else the number alone. */
export function groupLabel(gid: number, file = GROUP_FILE): string {
  const entry = records(file, 3).find((f) => f[2] === String(gid));
  return entry ? `${entry[0]} (${gid})` : String(gid);
}
