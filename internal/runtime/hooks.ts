/** OCI hooks: each runs with the container state as JSON on stdin; a failure names the hook. */
import { spawnSync } from "bun";

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookName = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export function runHooks(name: HookName, hooks: readonly Hook[] | undefined, state: object): void {
  for (const h of hooks ?? []) {
    const env = Object.fromEntries((h.env ?? []).map((kv) => {
      const i = kv.indexOf("=");
      return i === -1 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
    }));
    const argv = h.args && h.args.length ? h.args : [h.path];
    const r = spawnSync({
      cmd: [h.path, ...argv.slice(1)],
      ...(argv[0] !== undefined ? { argv0: argv[0] } : {}),
      env,
      stdin: new TextEncoder().encode(JSON.stringify(state)),
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
