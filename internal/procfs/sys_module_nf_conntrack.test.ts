import { describe, expect, test } from "bun:test";
import { FuseError } from "../fuse/mod.ts";
import { emulation, errnoOfAsync as errnoOf, fakeHost, fakePassThrough, INFO, served } from "./_testing.ts";
import { HASHSIZE, HASHSIZE_MAX, hashsizeWrite, parseHashsize } from "./sys_module_nf_conntrack.ts";

const EINVAL = 22;
const EACCES = 13;
const P = "sys/module/nf_conntrack/parameters";

function host() {
  return fakeHost({
    "/sys/module/nf_conntrack/parameters/hashsize": { content: "65536\n", mode: 0o600 },
    "/sys/module/nf_conntrack/parameters/expect_hashsize": { content: "1024\n", mode: 0o400 },
    "/sys/module/nf_conntrack/parameters/acct": { content: "N\n", mode: 0o644 },
  });
}

describe("nf_conntrack hashsize write policy", () => {
  test("values as kstrtouint takes them, within 1..HASHSIZE_MAX", () => {
    expect(["131072", "131072\n", "+131072", "0x20000", "0400000"].map(parseHashsize)).toEqual([131072, 131072, 131072, 131072, 131072]);
    for (const bad of ["", "\n", "0", "-1", "1.5", "12x", " 12", "12\n\n", "0x", "09", String(HASHSIZE_MAX + 1)]) {
      expect(() => parseHashsize(bad)).toThrow(FuseError);
    }
    expect(parseHashsize(String(HASHSIZE_MAX))).toBe(HASHSIZE_MAX);
  });

  test("the host's table only grows", () => {
    expect(hashsizeWrite(131072, 65536)).toEqual({ container: 131072, host: 131072 });
    expect(hashsizeWrite(65536, 65536)).toEqual({ container: 65536 });
    expect(hashsizeWrite(1024, 65536)).toEqual({ container: 1024 });
    // The host's unreadable: never written.
    expect(hashsizeWrite(131072, undefined)).toEqual({ container: 131072 });
  });
});

describe("/sys/module/nf_conntrack/parameters", () => {
  test("hashsize: the host's until written; a larger write raises the host's, a smaller one stays in the container", async () => {
    const h = host();
    const { em, changes } = emulation(h, fakePassThrough({}));
    const s = served(em);
    expect(await s.read(`${P}/hashsize`)).toBe("65536\n");
    expect(await s.attr(`${P}/hashsize`)).toMatchObject({ uid: INFO.uidFirst, gid: INFO.gidFirst, mode: 0o100600 });
    await s.write(`${P}/hashsize`, "131072\n");
    expect(h.writes).toEqual([[HASHSIZE, "131072"]]);
    expect(await s.read(`${P}/hashsize`)).toBe("131072\n");
    await s.write(`${P}/hashsize`, "4096");
    expect(h.writes).toHaveLength(1);
    expect(h.readFile(HASHSIZE)).toBe("131072\n");
    expect(await s.read(`${P}/hashsize`)).toBe("4096\n");
    expect(em.state.sysctls[HASHSIZE]).toBe("4096");
    expect(changes()).toBe(2);
    // Rejected values change nothing.
    expect(await errnoOf(s.write(`${P}/hashsize`, "0"))).toBe(EINVAL);
    expect(await errnoOf(s.write(`${P}/hashsize`, String(HASHSIZE_MAX * 2)))).toBe(EINVAL);
    expect(await s.read(`${P}/hashsize`)).toBe("4096\n");
    expect(h.writes).toHaveLength(1);
  });

  test("a second container reads the host's value, not the first one's", async () => {
    const h = host();
    const a = served(emulation(h, fakePassThrough({})).em);
    const b = served(emulation(h, fakePassThrough({}), { id: "other" }).em);
    await a.write(`${P}/hashsize`, "1024");
    expect(await b.read(`${P}/hashsize`)).toBe("65536\n");
  });

  test("other parameters: the host's, read-only, host owners", async () => {
    const h = host();
    const s = served(emulation(h, fakePassThrough({})).em);
    expect(await s.list(P)).toEqual(["acct", "expect_hashsize", "hashsize"]);
    expect(await s.read(`${P}/acct`)).toBe("N\n");
    expect(await s.attr(`${P}/acct`)).toMatchObject({ uid: 0, mode: 0o100444 });
    expect(await s.attr(`${P}/expect_hashsize`)).toMatchObject({ uid: 0, mode: 0o100400 });
    expect(await errnoOf(s.write(`${P}/acct`, "Y"))).toBe(EACCES);
    expect(h.writes).toEqual([]);
  });

  test("absent while the host has no nf_conntrack loaded", async () => {
    const s = served(emulation(fakeHost({ "/sys/module/other/parameters/x": "1\n" }), fakePassThrough({})).em);
    expect(await s.exists("sys/module/nf_conntrack")).toBe(false);
    expect(await s.list("sys/module")).toEqual([]);
    expect(await served(emulation(host(), fakePassThrough({})).em).list("sys/module")).toEqual(["nf_conntrack"]);
  });
});
