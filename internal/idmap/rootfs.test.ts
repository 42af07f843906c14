import { expect, test } from "bun:test";
import { overlayLayers, traversableMode } from "./rootfs.ts";

const MOUNTINFO = `1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
2145 2144 0:312 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/AAA:/var/lib/docker/overlay2/l/BBB,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/var/lib/docker/overlay2/abc/work
`;

test("reads the layers of Docker's overlay rootfs", () => {
  expect(overlayLayers(MOUNTINFO, "/var/lib/docker/overlay2/abc/merged")).toEqual({
    lower: ["/var/lib/docker/overlay2/l/AAA", "/var/lib/docker/overlay2/l/BBB"],
    upper: "/var/lib/docker/overlay2/abc/diff",
    work: "/var/lib/docker/overlay2/abc/work",
  });
});

test("a rootfs that is not an overlay gives null", () => {
  expect(overlayLayers(MOUNTINFO, "/")).toBeNull();
  expect(overlayLayers(MOUNTINFO, "/nowhere")).toBeNull();
});

test("a 0700 parent of the stage becomes traversable (0711); one that already is stays", () => {
  expect(traversableMode(0o40700)).toBe(0o711);
  expect(traversableMode(0o40750)).toBe(0o751);
  expect(traversableMode(0o40755)).toBeNull();
  expect(traversableMode(0o40711)).toBeNull();
});
