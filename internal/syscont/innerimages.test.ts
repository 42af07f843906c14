import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { dockerAutoRemove, needsSyncOut, syncIn, syncOut } from "./innerimages.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));
function tree() {
  dir = mkdtempSync(join(tmpdir(), "innerimages-"));
  const store = join(dir, "store");
  const rootfs = join(dir, "rootfs");
  const upper = join(dir, "upper");
  for (const d of [store, rootfs, upper]) mkdirSync(d);
  return { store, rootfs, upper };
}

test("sync in copies the image's /var/lib/docker into an empty store", () => {
  const t = tree();
  mkdirSync(join(t.rootfs, "var/lib/docker/image"), { recursive: true });
  writeFileSync(join(t.rootfs, "var/lib/docker/image/repositories.json"), "{}");
  const r = syncIn({ source: t.store, destination: "/var/lib/docker" }, t.rootfs);
  expect(r.copied).toBe(true);
  expect(readFileSync(join(t.store, "image/repositories.json"), "utf8")).toBe("{}");
});

test("sync in leaves a store that already has data (a restarted container) alone", () => {
  const t = tree();
  writeFileSync(join(t.store, "mine"), "x");
  mkdirSync(join(t.rootfs, "var/lib/docker"), { recursive: true });
  writeFileSync(join(t.rootfs, "var/lib/docker/theirs"), "y");
  expect(syncIn({ source: t.store, destination: "/var/lib/docker" }, t.rootfs).copied).toBe(false);
  expect(existsSync(join(t.store, "theirs"))).toBe(false);
});

test("sync out mirrors the store into the upper dir, deleting what the store no longer has", () => {
  const t = tree();
  writeFileSync(join(t.store, "a"), "1");
  mkdirSync(join(t.upper, "var/lib/docker"), { recursive: true });
  writeFileSync(join(t.upper, "var/lib/docker/stale"), "old");
  const r = syncOut({ source: t.store, destination: "/var/lib/docker" }, t.upper);
  expect(r.copied).toBe(true);
  expect(readFileSync(join(t.upper, "var/lib/docker/a"), "utf8")).toBe("1");
  expect(existsSync(join(t.upper, "var/lib/docker/stale"))).toBe(false);
});

test("an empty store with nothing in the upper dir copies nothing", () => {
  const t = tree();
  expect(syncOut({ source: t.store, destination: "/var/lib/docker" }, t.upper).copied).toBe(false);
  expect(existsSync(join(t.upper, "var/lib/docker"))).toBe(false);
});

test("needsSyncOut: only a store with data, or an old copy in the upper dir, needs a copy", () => {
  const t = tree();
  const store = { source: t.store, destination: "/var/lib/docker" };
  expect(needsSyncOut(store, t.upper)).toBe(false);
  mkdirSync(join(t.upper, "var/lib/docker"), { recursive: true });
  expect(needsSyncOut(store, t.upper)).toBe(true);
  rmSync(join(t.upper, "var"), { recursive: true });
  writeFileSync(join(t.store, "a"), "1");
  expect(needsSyncOut(store, t.upper)).toBe(true);
});

test("dockerAutoRemove reads hostconfig.json under the data root, without asking the API", async () => {
  const t = tree();
  const ctr = (id: string, hostconfig: string) => {
    mkdirSync(join(t.rootfs, "containers", id), { recursive: true });
    writeFileSync(join(t.rootfs, "containers", id, "hostconfig.json"), hostconfig);
  };
  ctr("rm", JSON.stringify({ AutoRemove: true, Memory: 0 }));
  ctr("keep", JSON.stringify({ AutoRemove: false }));
  ctr("garbled", "{");
  const opts = { dataRoot: t.rootfs, socket: join(t.rootfs, "no.sock") };
  expect(await dockerAutoRemove("rm", opts)).toBe(true);
  expect(await dockerAutoRemove("keep", opts)).toBe(false);
  expect(await dockerAutoRemove("garbled", opts)).toBe(false);
  expect(await dockerAutoRemove("unknown", opts)).toBe(false);
});
