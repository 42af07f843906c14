/**
 * `run`: create then start; in the foreground, forward signals to the init,
 * wait for it (we are its subreaper), delete, and return its exit code.
 */
import { prctl, PR, SIG, waitpid, exitCodeOf } from "../sys/proc.ts";
import { createContainer, type CreateOptions } from "./create.ts";
import { startContainer } from "./start.ts";
import { deleteContainer } from "./lifecycle.ts";
import { killProcess } from "./signals.ts";

export async function runContainer(opts: CreateOptions & { detach: boolean; keep: boolean }): Promise<number> {
  if (!opts.detach) prctl(PR.SET_CHILD_SUBREAPER, 1);
  const st = await createContainer(opts);
  await startContainer(opts.root, opts.id, opts.log);
  if (opts.detach) return 0;
  const forward = (sig: "SIGTERM" | "SIGINT" | "SIGHUP") => () => killProcess(st.pid, SIG[sig]);
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, forward(s));
  let code = 0;
  for (;;) {
    const r = waitpid(-1, 0);
    if (r.pid === st.pid) { code = exitCodeOf(r.status); break; }
  }
  if (!opts.keep) await deleteContainer(opts.root, opts.id, true, opts.log);
  return code;
}
