/**
 * HOME for the user process when the spec's env has none, chosen as runc
 * does: the home directory of the first /etc/passwd entry with the process's
 * uid, read inside the container, else "/". Pure apart from the file read.
 */
import { readFileSync } from "node:fs";

/** Home directory of `uid` in passwd(5) text, or "/" when no entry names it. */
export function homeDir(passwd: string, uid: number): string {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || f[2]?.trim() === "" || Number(f[2]) !== uid) continue;
    return f[5] || "/";
  }
  return "/";
}

/**
 * `env` with HOME set when it has none or an empty one (runc tests
 * `Getenv("HOME") == ""`); `passwd` is only called then.
 */
export function withHome(env: readonly string[], uid: number, passwd: () => string): string[] {
  const home = env.findLast((e) => e.startsWith("HOME="));
  if (home !== undefined && home !== "HOME=") return [...env];
  return [...env.filter((e) => !e.startsWith("HOME=")), `HOME=${homeDir(passwd(), uid)}`];
}

/** The container's /etc/passwd (init and exec run inside its root), or "" when it has none. */
export function readPasswd(path = "/etc/passwd"): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
