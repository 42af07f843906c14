/**
 * Containers known to the interceptor and the notify fds that belong to
 * them. A container is described once, from its init's mountinfo when its
 * first fd registers; exec'd processes add fds to it; it is forgotten when
 * its last fd reports POLLHUP. Pure bookkeeping, no I/O.
 */
import type { ContainerMounts, InitialMount } from "./policy.ts";
import { isReadOnly, isUnder, type MountView } from "./view.ts";
import type { RegisterMounts } from "./wire.ts";

/** A registration the interceptor refuses; its message goes back to the runtime. */
export class RegistrationError extends Error {
  override name = "RegistrationError";
}

/**
 * Builds a container's description from the init's mountinfo and the ids
 * the runtime registered. Every registered id must be in that mountinfo: an
 * id from another view would protect nothing, silently.
 */
export function describeContainer(
  containerId: string,
  view: MountView,
  opts: { mounts: RegisterMounts; mountNs: string },
): ContainerMounts {
  const { mounts } = opts;
  const need = (id: number | undefined, what: string) => {
    if (id !== undefined && !view.byId(id)) {
      throw new RegistrationError(`container ${containerId}: ${what} mount id ${id} is not in the init's mountinfo`);
    }
  };
  need(mounts.root, "root");
  need(mounts.proc, "/proc");
  need(mounts.sys, "/sys");
  for (const id of mounts.readonly) {
    need(id, "read-only");
    const e = view.byId(id)!;
    if (!isReadOnly(e)) throw new RegistrationError(`container ${containerId}: mount id ${id} at ${e.mountPoint} is registered read-only but mounted read-write`);
  }
  const readonlyIds = new Set(mounts.readonly);
  const pinned = new Map<number, string>([[mounts.root, "the container's root"]]);
  for (const [id, name] of [[mounts.proc, "/proc"], [mounts.sys, "/sys"]] as const) {
    if (id === undefined) continue;
    pinned.set(id, `the container's ${name}`);
    const at = view.byId(id)!.mountPoint;
    for (const e of view.entries) {
      if (e.id !== id && isUnder(e.mountPoint, at) && !pinned.has(e.id)) pinned.set(e.id, `a mount of the container's ${name} at ${e.mountPoint}`);
    }
  }
  const initial: InitialMount[] = view.entries.map((e) => ({
    id: e.id, majorMinor: e.majorMinor, root: e.root, mountPoint: e.mountPoint, fsType: e.fsType, readonly: readonlyIds.has(e.id),
  }));
  return {
    containerId,
    mountNs: opts.mountNs,
    rootId: mounts.root,
    ...(mounts.proc !== undefined ? { procId: mounts.proc } : {}),
    ...(mounts.sys !== undefined ? { sysId: mounts.sys } : {}),
    readonlyIds,
    pinned,
    initial,
  };
}

export interface FdRecord {
  fd: number;
  containerId: string;
  /** Host pid of the process that registered the fd (init or exec'd process). */
  pid: number;
  kind: "init" | "exec";
}

interface Instance {
  mounts: ContainerMounts;
  fds: Set<number>;
}

/**
 * Containers by id. Each init registration starts a new instance (a
 * restarted container reuses its id while the old fds may not have hung up
 * yet); exec registrations join the newest instance of their container.
 */
export class Registry {
  readonly #latest = new Map<string, Instance>();
  readonly #instances = new Set<Instance>();
  readonly #fds = new Map<number, { record: FdRecord; instance: Instance }>();

  get containerCount(): number {
    return this.#instances.size;
  }

  get fdCount(): number {
    return this.#fds.size;
  }

  /** The newest instance's description of container `id`. */
  container(id: string): ContainerMounts | undefined {
    return this.#latest.get(id)?.mounts;
  }

  /** The record of a registered fd and the description of its container instance. */
  fd(fd: number): { record: FdRecord; mounts: ContainerMounts } | undefined {
    const e = this.#fds.get(fd);
    return e && { record: e.record, mounts: e.instance.mounts };
  }

  fds(): IterableIterator<number> {
    return this.#fds.keys();
  }

  /** Registers an init's fd with its container's description, or an exec'd process's fd. */
  add(record: FdRecord, mounts?: ContainerMounts): void {
    if (this.#fds.has(record.fd)) throw new RangeError(`fd ${record.fd} is already registered`);
    let instance: Instance | undefined;
    if (record.kind === "init") {
      if (!mounts) throw new TypeError("an init registration needs the container's mounts");
      instance = { mounts, fds: new Set() };
      this.#instances.add(instance);
      this.#latest.set(record.containerId, instance);
    } else {
      instance = this.#latest.get(record.containerId);
      if (!instance) throw new RegistrationError(`container ${record.containerId} is not registered; its init must register first`);
    }
    instance.fds.add(record.fd);
    this.#fds.set(record.fd, { record, instance });
  }

  /** Drops an fd; `remaining` counts the fds its container instance still has (0: gone). */
  remove(fd: number): { record: FdRecord; remaining: number } | undefined {
    const e = this.#fds.get(fd);
    if (!e) return undefined;
    this.#fds.delete(fd);
    e.instance.fds.delete(fd);
    const remaining = e.instance.fds.size;
    if (remaining === 0) {
      this.#instances.delete(e.instance);
      if (this.#latest.get(e.record.containerId) === e.instance) this.#latest.delete(e.record.containerId);
    }
    return { record: e.record, remaining };
  }
}
