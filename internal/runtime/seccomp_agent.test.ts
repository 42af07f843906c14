import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../oci/mod.ts";
import { close, pipe2 } from "../sys/fs.ts";
import { recvFds, socketpair } from "../sys/socket.ts";
import { linuxSys } from "../sys/linux.ts";
import { planCreate, type PlanOptions } from "./create.ts";
import { agentMessage, handOverListener, seccompAgentOf, AGENT_WITH_INTERCEPTION } from "./seccomp_agent.ts";
import type { Spec } from "./spec.ts";

const BASE = parseConfig(readFileSync(join(import.meta.dir, "../oci/testdata/docker-config.json"), "utf8"));
const withSeccomp = (seccomp: NonNullable<Spec["linux"]>["seccomp"]): Spec => ({ ...BASE, linux: { ...BASE.linux, seccomp } });
const NOTIFY = withSeccomp({
  defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", listenerMetadata: "m1",
  syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
});
const OPTS: PlanOptions = { id: "c1", bundle: "/b", rootfs: "/b/rootfs", dir: "/run/sysbox-runc/c1", noPivot: false, preserveFds: 0, systemdCgroup: false, fs: false };

describe("seccompAgentOf", () => {
  test("a profile with a NOTIFY rule names its agent; one without notifies no one", () => {
    expect(seccompAgentOf(NOTIFY)).toEqual({ path: "/run/agent.sock", metadata: "m1" });
    expect(seccompAgentOf(withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/x" }))).toBeUndefined();
    expect(seccompAgentOf(BASE)).toBeUndefined();
  });

  test("NOTIFY without a listenerPath is a config error", () => {
    expect(() => seccompAgentOf(withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] })))
      .toThrow("linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  });
});

describe("planCreate with a seccomp agent", () => {
  test("without sysbox-fs: planned", () => {
    expect(planCreate(NOTIFY, OPTS).seccompAgent).toEqual({ path: "/run/agent.sock", metadata: "m1" });
  });

  test("with sysbox-fs's interception: refused, saying why (the kernel's one listener per process)", () => {
    expect(() => planCreate(NOTIFY, { ...OPTS, fs: true })).toThrow(AGENT_WITH_INTERCEPTION);
    expect(AGENT_WITH_INTERCEPTION).toContain("EBUSY");
  });
});

describe("agentMessage", () => {
  test("runc's ContainerProcessState: version, fds, pid, metadata, state", () => {
    const m = JSON.parse(agentMessage({ spec: NOTIFY, id: "c1", bundle: "/b", pid: 42, metadata: "m1", status: "creating", annotations: {} }));
    expect(m).toEqual({
      ociVersion: "1.0.2-dev", fds: ["seccompFd"], pid: 42, metadata: "m1",
      state: { ociVersion: NOTIFY.ociVersion, id: "c1", status: "creating", pid: 42, bundle: "/b" },
    });
  });
});

describe("handOverListener", () => {
  test("sends the message with the fd in one sendmsg, then closes both", () => {
    const [ours, theirs] = socketpair();
    const [r, w] = pipe2();
    const closed: number[] = [];
    handOverListener(r, { fd: theirs, state: '{"x":1}' }, { close: (fd) => { closed.push(fd); linuxSys.close(fd); } });
    const got = recvFds(ours, 4);
    try {
      expect(new TextDecoder().decode(got.data)).toBe('{"x":1}');
      expect(got.fds.length).toBe(1);
      expect(closed).toEqual([r, theirs]);
    } finally {
      for (const fd of [ours, w, ...got.fds]) close(fd);
    }
  });
});
