/**
 * OCI hooks: each runs with the container state as JSON on stdin; a failure
 * names the hook. createContainer hooks run as the host's root inside every
 * namespace of the init but its user namespace (`enter`): a system container
 * always has a user namespace, and a hook that works under runc (which has
 * none by default) must not lose its privileges over the host's files here.
 */
import { spawnSync } from "bun";

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookName = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

/** The init's namespaces a hook enters (nsenter(1) flags); the user namespace is left out on purpose. */
const ENTER = ["--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup"];

/** The command line of a hook, run in `enter`'s namespaces when given. */
export function hookCommand(h: Hook, enter?: number): string[] {
  const cmd = [h.path, ...(h.args ?? []).slice(1)];
  return enter === undefined ? cmd : ["nsenter", `--target=${enter}`, ...ENTER, "--", ...cmd];
}

/** The OCI state a hook reads on stdin. */
export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The OCI state as runc writes it for hooks: no pid once stopped, no empty annotations. */
export function ociHookState(s: HookState): object {
  return {
    ociVersion: s.ociVersion, id: s.id, status: s.status,
    ...(s.status !== "stopped" && s.pid !== undefined ? { pid: s.pid } : {}),
    bundle: s.bundle,
    ...(s.annotations && Object.keys(s.annotations).length ? { annotations: s.annotations } : {}),
  };
}

export function runHooks(name: HookName, hooks: readonly Hook[] | undefined, state: HookState, opts: { enter?: number } = {}): void {
  for (const h of hooks ?? []) {
    const env = Object.fromEntries((h.env ?? []).map((kv) => {
      const i = kv.indexOf("=");
      return i === -1 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
    }));
    const argv = h.args && h.args.length ? h.args : [h.path];
    const r = spawnSync({
      cmd: hookCommand(h, opts.enter),
      // nsenter cannot set the hook's argv[0]; it gets its path there instead.
      ...(argv[0] !== undefined && opts.enter === undefined ? { argv0: argv[0] } : {}),
      env,
      stdin: new TextEncoder().encode(JSON.stringify(ociHookState(state))),
      stdout: "pipe",
      stderr: "pipe",
      ...(h.timeout ? { timeout: h.timeout * 1000 } : {}),
    });
    if (r.exitCode !== 0) {
      const why = r.signalCode ? `killed by ${r.signalCode}` : `exit status ${r.exitCode}`;
      const err = new TextDecoder().decode(r.stderr ?? new Uint8Array()).trim();
      throw new Error(`error running ${name} hook ${h.path}: ${why}${err ? `, stderr: ${err}` : ""}`);
    }
  }
}
