/**
 * The `sysbox` system user that owns the subordinate id ranges. No process
 * runs as it; it exists so that no one else can later be created under that
 * name and be handed sysbox's ranges by newuidmap(1).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSBOX_USER } from "./plan.ts";

export const USERADD_ARGS = ["--system", "--no-create-home", "--shell", "/bin/false"] as const;

export class UserSetupError extends Error {
  override name = "UserSetupError";
}

function inPasswd(path: string, user: string): boolean {
  try {
    return readFileSync(path, "utf8").split("\n").some((l) => l.split(":", 1)[0] === user);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

export interface UserOptions {
  user?: string;
  /** Directory whose etc/passwd is consulted and changed (useradd --prefix); default "/". */
  root?: string;
  /** The useradd program; default "useradd" from PATH. */
  useradd?: string;
}

/**
 * Creates the system user if etc/passwd lacks it. Returns the command it ran,
 * or undefined when the user already existed.
 */
export function ensureSysboxUser(opts: UserOptions = {}): string | undefined {
  const user = opts.user ?? SYSBOX_USER;
  const root = opts.root ?? "/";
  if (inPasswd(join(root, "etc/passwd"), user)) return undefined;
  const args = [...USERADD_ARGS, ...(root === "/" ? [] : ["--prefix", root]), user];
  const cmd = [opts.useradd ?? "useradd", ...args];
  const shown = ["useradd", ...args].join(" ");
  let res: ReturnType<typeof Bun.spawnSync>;
  try {
    res = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  } catch (e) {
    throw new UserSetupError(`user ${user} does not exist and useradd could not run (${(e as Error).message}); create it with \`${shown}\``);
  }
  // 9: the name is taken, e.g. by a user from NSS rather than etc/passwd.
  if (res.exitCode === 0 || res.exitCode === 9) return res.exitCode === 0 ? shown : undefined;
  const why = res.stderr?.toString().trim() || `exit code ${res.exitCode}`;
  throw new UserSetupError(`user ${user} does not exist and \`${shown}\` failed: ${why}`);
}
