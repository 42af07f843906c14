/**
 * /sys/devices/virtual/dmi/id, inside the emulated /sys/devices/virtual
 * (sys_devices_virtual.ts), so it is there on hosts without DMI too.
 *
 *   sys/devices/virtual/dmi/id/       emulated dir (present even on hosts without DMI)
 *     product_uuid                    emulated, read-only, 0400, owned by the container's root:
 *                                     the host's UUID up to its last group, then 12 hex digits
 *                                     from the container id; stable for the id, unique per container
 *     (any other host dmi/id file)    the host's, read-only, owned by host root (so the
 *                                     0400 serial numbers stay unreadable in the container)
 */
import { createHash } from "node:crypto";
import { dir, type DirSpec, file, type NodeSpec } from "../fuse/mod.ts";
import { containerRoot, type Emulation } from "./container.ts";

export const HOST_DMI_ID = "/sys/devices/virtual/dmi/id";

/** Host UUID "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" → "aaaaaaaa-bbbb-cccc-dddd-" + 12 hex of the id. */
export function productUuid(hostUuid: string | undefined, containerId: string): string {
  const h = hostUuid?.trim().toLowerCase();
  const prefix = h && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(h) ? h.slice(0, 24) : "00000000-0000-0000-0000-";
  // Docker ids are hex already (Sysbox uses their first 12 digits); hash anything else.
  const tail = /^[0-9a-f]{12}/i.test(containerId)
    ? containerId.slice(0, 12).toLowerCase()
    : createHash("sha256").update(containerId).digest("hex").slice(0, 12);
  return `${prefix}${tail}`;
}

export function sysDmiId(em: Emulation): DirSpec {
  const readHostUuid = (): string | undefined => {
    try {
      return em.host.readFile(`${HOST_DMI_ID}/product_uuid`);
    } catch {
      return undefined;
    }
  };
  const children: Record<string, NodeSpec> = {
    product_uuid: file(() => `${productUuid(readHostUuid(), em.info.id)}\n`, { ...containerRoot(em.info), mode: 0o400, size: 4096 }),
  };
  /** A host dmi/id file as the container sees it: read-only, the host's owner. */
  const hostFile = (name: string): NodeSpec | undefined => {
    const st = em.host.stat(`${HOST_DMI_ID}/${name}`);
    if (!st || st.kind !== "file") return undefined;
    return file(() => em.host.readFile(`${HOST_DMI_ID}/${name}`), { uid: st.uid, gid: st.gid, mode: st.mode & ~0o222, size: 4096 });
  };
  return dir(children, {
    mode: 0o755,
    lookup: (_ctx, name) => hostFile(name),
    list: () => {
      if (!em.host.stat(HOST_DMI_ID)) return [];
      return em.host.list(HOST_DMI_ID).flatMap((e) => {
        const spec = e.kind === "file" ? hostFile(e.name) : undefined;
        return spec ? [[e.name, spec] as const] : [];
      });
    },
  });
}
