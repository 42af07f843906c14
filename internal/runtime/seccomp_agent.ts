/**
 * The OCI seccomp agent interface (linux.seccomp.listenerPath): the listener
 * fd of the container's profile goes, over a unix socket, to an agent that
 * answers the SCMP_ACT_NOTIFY syscalls. As runc does it: one sendmsg of the
 * container process state (JSON) with the fd in SCM_RIGHTS.
 *
 *   { "ociVersion": "1.0.2-dev", "fds": ["seccompFd"], "pid": <host pid>,
 *     "metadata": <listenerMetadata>, "state": <OCI state: "creating", or "running" for exec> }
 *
 * The parent connects (the init cannot reach host paths after pivot_root)
 * and passes the connected socket down; the init sends once its filter is
 * loaded. The kernel allows one listener per seccomp filter chain (a second
 * SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EBUSY), and sysbox-fs's
 * syscall interception holds that one in a system container: there, a
 * profile with a listener is refused at create.
 */
import { sendFds } from "../sys/socket.ts";
import type { Sys } from "../sys/linux.ts";
import type { Spec } from "./spec.ts";

/** What the init needs: the connected socket and the message to send with the fd. */
export interface SeccompAgentHandoff {
  fd: number;
  state: string;
}

/** The agent the spec names, or undefined when its profile notifies no one. */
export function seccompAgentOf(spec: Spec): { path: string; metadata: string } | undefined {
  const s = spec.linux?.seccomp;
  if (!s) return undefined;
  const notifies = (s.syscalls ?? []).some((c) => c.action === "SCMP_ACT_NOTIFY");
  if (!notifies) return undefined;
  if (!s.listenerPath) throw new Error("config.json: linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  return { path: s.listenerPath, metadata: s.listenerMetadata ?? "" };
}

/** Why create refuses a listener when sysbox-fs intercepts syscalls (measured: EBUSY). */
export const AGENT_WITH_INTERCEPTION =
  "linux.seccomp.listenerPath: a seccomp agent cannot be used together with sysbox-fs's syscall interception: " +
  "the kernel allows one seccomp listener per process (a second one fails with EBUSY), and sysbox-fs holds it; " +
  "run the container with --no-sysbox-fs to use the agent";

/** runc's ContainerProcessState, as JSON. */
export function agentMessage(o: { spec: Spec; id: string; bundle: string; pid: number; metadata: string; status: "creating" | "running"; annotations?: Record<string, string> }): string {
  const annotations = o.annotations ?? o.spec.annotations ?? {};
  return JSON.stringify({
    ociVersion: "1.0.2-dev",
    fds: ["seccompFd"],
    pid: o.pid,
    metadata: o.metadata,
    state: {
      ociVersion: o.spec.ociVersion, id: o.id, status: o.status, pid: o.pid, bundle: o.bundle,
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
  });
}

/** Init side: sends the listener to the agent and closes both; a listener with no agent is closed (its syscalls get ENOSYS). */
export function handOverListener(notifyFd: number, agent: SeccompAgentHandoff | null, sys: Pick<Sys, "close">): void {
  try {
    if (agent) sendFds(agent.fd, [notifyFd], new TextEncoder().encode(agent.state));
  } finally {
    sys.close(notifyFd);
    if (agent) sys.close(agent.fd);
  }
}
