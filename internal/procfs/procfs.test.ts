import { describe, expect, test } from "bun:test";
import { emulation, errnoOf, errnoOfAsync, fakeHost, fakePassThrough, INFO, served } from "./_testing.ts";
import { BINDS, productUuid, SWAPS_HEADER } from "./mod.ts";
import { anyInt, intRange, intVector, ULONG_MAX } from "./sysctl.ts";

const EINVAL = 22;
const EACCES = 13;

function host() {
  return fakeHost({
    "/proc/sys/kernel/panic": "1\n",
    "/proc/sys/kernel/pid_max": "32768\n",
    "/proc/sys/kernel/printk": "4\t4\t1\t7\n",
    "/proc/sys/kernel/cap_last_cap": { content: "40\n", mode: 0o444 },
    "/proc/sys/kernel/randomize_va_space": "2\n",
    "/proc/sys/kernel/hostname": "host\n",
    "/proc/sys/vm/overcommit_memory": "0\n",
    "/proc/sys/fs/protected_hardlinks": { content: "1\n", mode: 0o600 },
    "/proc/sys/fs/file-max": "1000000\n",
    "/proc/sys/fs/binfmt_misc/status": "enabled\n",
    "/proc/sys/net/core/somaxconn": "4096\n",
    "/proc/sys/net/ipv4/ip_forward": "0\n",
  });
}

function passThrough() {
  return fakePassThrough({
    4000: {
      "/proc/sys/kernel/hostname": "ctr\n",
      "/proc/sys/net/core/somaxconn": "4096\n",
      "/proc/sys/net/ipv4/ip_forward": "1\n",
      "/proc/sys/net/ipv4/conf/eth0/forwarding": "1\n",
      "/proc/sys/net/ipv4/conf/lo/forwarding": "0\n",
    },
    5000: { "/proc/sys/kernel/hostname": "nested\n" },
  });
}

describe("value parsers (proc_dointvec rules)", () => {
  test("one int in range; whitespace and extra values as procfs takes them", () => {
    const p = intRange(0, 3);
    expect(["2", "2\n", "  2  ", "+2", "2 9"].map((t) => p(t, ""))).toEqual(["2", "2", "2", "2", "2"]);
    for (const bad of ["", "\n", "x", "2x", "4", "-1", "1.5", "0x1"]) expect(errnoOf(() => p(bad, ""))).toBe(EINVAL);
    expect(anyInt("-1\n", "")).toBe("-1");
    expect(errnoOf(() => anyInt("2147483648", ""))).toBe(EINVAL);
    expect(intRange(0, ULONG_MAX)("18446744073709551615", "")).toBe("18446744073709551615");
    expect(errnoOf(() => intRange(0, ULONG_MAX)("18446744073709551616", ""))).toBe(EINVAL);
  });

  test("vectors keep the values a short write leaves out", () => {
    const p = intVector(4);
    expect(p("3\n", "4\t4\t1\t7")).toBe("3\t4\t1\t7");
    expect(p("1 2 3 4 5", "4\t4\t1\t7")).toBe("1\t2\t3\t4");
    expect(errnoOf(() => p("1 x", "4\t4\t1\t7"))).toBe(EINVAL);
  });
});

describe("emulated sysctls", () => {
  test("container policy: seeded from the host once, writes stay in the container", async () => {
    const h = host();
    const { em, changes } = emulation(h, passThrough());
    const s = served(em);
    expect(await s.read("proc/sys/kernel/panic")).toBe("1\n");
    expect(changes()).toBe(1);
    h.files.get("/proc/sys/kernel/panic")!.content = "5\n";
    expect(await s.read("proc/sys/kernel/panic")).toBe("1\n");
    await s.write("proc/sys/kernel/panic", "7\n");
    expect(await s.read("proc/sys/kernel/panic")).toBe("7\n");
    expect(em.state.sysctls["kernel/panic"]).toBe("7");
    expect(h.writes).toEqual([]);
    expect(changes()).toBe(2);
    // Rejected values change nothing; writes past offset 0 are ignored.
    expect(await errnoOfAsync(s.write("proc/sys/kernel/pid_max", "4194305"))).toBe(EINVAL);
    expect(await errnoOfAsync(s.write("proc/sys/kernel/pid_max", "100"))).toBe(EINVAL);
    await s.write("proc/sys/kernel/pid_max", "4194304");
    await s.write("proc/sys/kernel/pid_max", "9999", 4000, 5);
    expect(await s.read("proc/sys/kernel/pid_max")).toBe("4194304\n");
    await s.write("proc/sys/kernel/printk", "3");
    expect(await s.read("proc/sys/kernel/printk")).toBe("3\t4\t1\t7\n");
  });

  test("two containers keep separate values over one host", async () => {
    const h = host();
    const a = served(emulation(h, passThrough()).em);
    const b = served(emulation(h, passThrough(), { id: "other" }).em);
    await a.write("proc/sys/kernel/panic", "7");
    expect(await a.read("proc/sys/kernel/panic")).toBe("7\n");
    expect(await b.read("proc/sys/kernel/panic")).toBe("1\n");
    expect(h.readFile("/proc/sys/kernel/panic")).toBe("1\n");
  });

  test("max policy: raises the host's limit, never lowers it", async () => {
    const h = host();
    const s = served(emulation(h, passThrough()).em);
    await s.write("proc/sys/net/core/somaxconn", "8192");
    expect(h.writes).toEqual([["/proc/sys/net/core/somaxconn", "8192"]]);
    await s.write("proc/sys/net/core/somaxconn", "128");
    expect(h.writes).toHaveLength(1);
    expect(await s.read("proc/sys/net/core/somaxconn")).toBe("128\n");
    expect(h.readFile("/proc/sys/net/core/somaxconn")).toBe("8192\n");
    await s.write("proc/sys/fs/file-max", "999");
    expect(h.writes).toHaveLength(1);
  });

  test("read-only entries show the host's current value and cannot be written", async () => {
    const h = host();
    const s = served(emulation(h, passThrough()).em);
    expect(await s.read("proc/sys/kernel/cap_last_cap")).toBe("40\n");
    h.files.get("/proc/sys/kernel/cap_last_cap")!.content = "41\n";
    expect(await s.read("proc/sys/kernel/cap_last_cap")).toBe("41\n");
    expect(await errnoOfAsync(s.write("proc/sys/kernel/cap_last_cap", "1"))).toBe(EACCES);
    expect((await s.attr("proc/sys/kernel/cap_last_cap")).mode! & 0o777).toBe(0o444);
  });

  test("owner is the container's root; mode follows the host's", async () => {
    const s = served(emulation(host(), passThrough()).em);
    expect(await s.attr("proc/sys/kernel/panic")).toMatchObject({ uid: INFO.uidFirst, gid: INFO.gidFirst, mode: 0o100644 });
    expect((await s.attr("proc/sys/fs/protected_hardlinks")).mode).toBe(0o100600);
  });

  test("an entry the host lacks is absent, unless the container already set it", async () => {
    expect(await served(emulation(host(), passThrough()).em).exists("proc/sys/kernel/yama/ptrace_scope")).toBe(false);
    const { em } = emulation(host(), passThrough(), {}, { sysctls: { "kernel/sysrq": "16" } });
    const s = served(em);
    expect(await s.read("proc/sys/kernel/sysrq")).toBe("16\n");
    expect(await s.list("proc/sys/kernel")).toContain("sysrq");
  });
});

describe("the rest of /proc/sys", () => {
  test("global entries: the host's value, read-only, owned by host root", async () => {
    const h = host();
    const s = served(emulation(h, passThrough()).em);
    expect(await s.read("proc/sys/kernel/randomize_va_space")).toBe("2\n");
    expect(await s.attr("proc/sys/kernel/randomize_va_space")).toMatchObject({ uid: 0, gid: 0 });
    expect(await errnoOfAsync(s.write("proc/sys/kernel/randomize_va_space", "0"))).toBe(EACCES);
    expect(h.writes).toEqual([]);
    expect(await s.list("proc/sys/kernel")).toEqual(["cap_last_cap", "hostname", "panic", "pid_max", "printk", "randomize_va_space"]);
    expect(await s.list("proc/sys")).toEqual(["fs", "kernel", "net", "vm"]);
  });

  test("namespaced entries pass through to the caller's namespaces", async () => {
    const pt = passThrough();
    const s = served(emulation(host(), pt).em);
    expect(await s.read("proc/sys/kernel/hostname")).toBe("ctr\n");
    expect(await s.read("proc/sys/kernel/hostname", 5000)).toBe("nested\n");
    await s.write("proc/sys/kernel/hostname", "renamed\n");
    expect(pt.views.get(4000)!.get("/proc/sys/kernel/hostname")).toBe("renamed\n");
    expect(await s.attr("proc/sys/kernel/hostname")).toMatchObject({ uid: INFO.uidFirst });
    expect(await s.read("proc/sys/net/ipv4/ip_forward")).toBe("1\n");
    // A caller that is gone is served in the init's namespaces.
    expect(await s.read("proc/sys/kernel/hostname", 6000)).toBe("renamed\n");
    expect(pt.calls).toContain("read 4000 /proc/sys/kernel/hostname");
  });

  test("net/ is listed in the caller's network namespace; lookups right after reuse the listing", async () => {
    const pt = passThrough();
    const s = served(emulation(host(), pt).em);
    expect(await s.list("proc/sys/net/ipv4/conf")).toEqual(["eth0", "lo"]);
    pt.calls.length = 0;
    expect(await s.read("proc/sys/net/ipv4/conf/eth0/forwarding")).toBe("1\n");
    expect(pt.calls.filter((c) => c.startsWith("stat") && c.endsWith("/conf/eth0"))).toEqual([]);
    expect(await s.exists("proc/sys/net/ipv4/conf/eth9")).toBe(false);
    // The emulated somaxconn sits among the passed-through net/core entries.
    expect(await s.list("proc/sys/net/core")).toEqual(["somaxconn"]);
  });

  test("fs/binfmt_misc is an empty directory", async () => {
    const s = served(emulation(host(), passThrough()).em);
    expect(await s.list("proc/sys/fs/binfmt_misc")).toEqual([]);
  });
});

describe("/proc/uptime, /proc/swaps, product_uuid", () => {
  test("uptime counts from the container's start; idle scales with the host's ratio", async () => {
    const h = host();
    const s = served(emulation(h, passThrough(), { startBoot: 900 }).em);
    expect(await s.read("proc/uptime")).toBe("100.00 150.00\n");
    h.up = { up: 1000.5, idle: 0 };
    expect(await s.read("proc/uptime")).toBe("100.50 0.00\n");
    h.up = { up: 800, idle: 10 };
    expect(await s.read("proc/uptime")).toBe("0.00 0.00\n");
    expect((await s.attr("proc/uptime")).mode).toBe(0o100444);
    expect(await errnoOfAsync(s.write("proc/uptime", "1"))).toBe(EACCES);
  });

  test("swaps shows the header only", async () => {
    const s = served(emulation(host(), passThrough()).em);
    expect(await s.read("proc/swaps")).toBe(SWAPS_HEADER);
    expect(SWAPS_HEADER.split("\t").filter(Boolean)).toEqual(["Filename", "Type", "Size", "Used", "Priority\n"]);
  });

  test("product_uuid: host prefix + 12 hex digits of the id, stable and per container", async () => {
    expect(productUuid("4C4C4544-0042-3510-8052-B4C04F384D32\n", INFO.id)).toBe("4c4c4544-0042-3510-8052-0123456789ab");
    expect(productUuid(undefined, INFO.id)).toBe("00000000-0000-0000-0000-0123456789ab");
    const a = productUuid(undefined, "test-1");
    expect(a).toMatch(/^00000000-0000-0000-0000-[0-9a-f]{12}$/);
    expect(productUuid(undefined, "test-1")).toBe(a);
    expect(productUuid(undefined, "test-2")).not.toBe(a);
    const s = served(emulation(host(), passThrough()).em);
    expect(await s.read("sys/devices/virtual/dmi/id/product_uuid")).toBe("00000000-0000-0000-0000-0123456789ab\n");
    expect(await s.attr("sys/devices/virtual/dmi/id/product_uuid")).toMatchObject({ mode: 0o100400, uid: INFO.uidFirst });
  });

  test("other host dmi files are the host's, read-only", async () => {
    const h = fakeHost({
      "/sys/devices/virtual/dmi/id/product_uuid": "4c4c4544-0042-3510-8052-b4c04f384d32\n",
      "/sys/devices/virtual/dmi/id/product_name": { content: "Box\n", mode: 0o444 },
      "/sys/devices/virtual/dmi/id/product_serial": { content: "SECRET\n", mode: 0o400 },
    });
    const s = served(emulation(h, passThrough()).em);
    expect(await s.list("sys/devices/virtual/dmi/id")).toEqual(["product_name", "product_serial", "product_uuid"]);
    expect(await s.read("sys/devices/virtual/dmi/id/product_uuid")).toBe("4c4c4544-0042-3510-8052-0123456789ab\n");
    expect(await s.read("sys/devices/virtual/dmi/id/product_name")).toBe("Box\n");
    expect(await s.attr("sys/devices/virtual/dmi/id/product_serial")).toMatchObject({ uid: 0, mode: 0o100400 });
  });

  test("/sys/kernel mirrors the host read-only, with empty config/debug/tracing/security", async () => {
    const h = fakeHost({
      "/sys/kernel/address_bits": { content: "48\n", mode: 0o444 },
      "/sys/kernel/profiling": { content: "0\n", mode: 0o644 },
      "/sys/kernel/mm/transparent_hugepage/enabled": { content: "always [madvise] never\n", mode: 0o644 },
      "/sys/kernel/slab/alias": { content: "", symlink: true },
      "/sys/kernel/slab/real/order": { content: "3\n", mode: 0o444 },
      "/sys/kernel/debug/tracing/trace": { content: "host trace\n", mode: 0o600 },
    });
    const s = served(emulation(h, passThrough()).em);
    expect(await s.list("sys/kernel")).toEqual(["address_bits", "config", "debug", "mm", "profiling", "security", "slab", "tracing"]);
    expect(await s.read("sys/kernel/mm/transparent_hugepage/enabled")).toBe("always [madvise] never\n");
    expect(await s.attr("sys/kernel/profiling")).toMatchObject({ uid: 0, mode: 0o100644, size: 4096 });
    expect(await errnoOfAsync(s.write("sys/kernel/profiling", "1"))).toBe(EACCES);
    expect(await s.list("sys/kernel/slab")).toEqual(["real"]);
    expect(await s.exists("sys/kernel/slab/alias")).toBe(false);
    // Nothing of the host's debugfs shows through the emulated dir.
    expect(await s.list("sys/kernel/debug")).toEqual([]);
    expect(await s.attr("sys/kernel/debug")).toMatchObject({ uid: INFO.uidFirst, mode: 0o40700 });
  });

  test("every BINDS source exists in the tree; nf_conntrack's only while the host has the module", async () => {
    const h = host();
    const conntrack = "sys/module/nf_conntrack/parameters";
    const without = served(emulation(h, passThrough()).em);
    for (const b of BINDS) expect(await without.exists(b.source)).toBe(b.source !== conntrack);
    h.files.set(`/${conntrack}/hashsize`, { content: "65536\n", mode: 0o600 });
    const withModule = served(emulation(h, passThrough()).em);
    for (const b of BINDS) expect(await withModule.exists(b.source)).toBe(true);
    expect(BINDS.map((b) => b.destination)).toContain("/sys/devices/virtual");
    expect(BINDS.map((b) => b.destination)).not.toContain("/sys/devices/virtual/dmi/id");
  });
});
