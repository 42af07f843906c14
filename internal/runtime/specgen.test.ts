import { expect, test } from "bun:test";
import { IGNORED_MOUNT_OPTIONS } from "./mountopts.ts";
import { features } from "./specgen.ts";

test("features: advertises no mount option that is ignored, the systemd driver, and no runc version", () => {
  const f = features() as { mountOptions: string[]; linux: { cgroup: Record<string, boolean> }; annotations: Record<string, string> };
  expect(f.mountOptions.filter((o) => IGNORED_MOUNT_OPTIONS.has(o))).toEqual([]);
  expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true });
  expect(Object.keys(f.annotations)).not.toContain("org.opencontainers.runc.version");
});
