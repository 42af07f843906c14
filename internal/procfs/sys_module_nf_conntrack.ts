/**
 * /sys/module/nf_conntrack/parameters, for sysbox-runc to bind over the
 * same path. Present only while the host has the module loaded (its
 * parameters dir exists), as it is natively.
 *
 *   sys/module/                 emulated dir holding nf_conntrack only
 *     nf_conntrack/parameters/  emulated dir
 *       hashsize                emulated, owned by the container's root, the host's mode:
 *                               reads the value the container wrote, or the host's live one
 *                               until it writes; a write is an unsigned integer in
 *                               1..HASHSIZE_MAX (decimal, 0x hex or 0 octal, as the kernel's
 *                               kstrtouint takes it; anything else EINVAL), is kept for the
 *                               container and, when larger than the host's table, resizes
 *                               the host's to it; the host's is never lowered
 *       (other host files)      the host's (acct, expect_hashsize, tstamp...), read-only,
 *                               host owners (nobody in the container)
 *
 * Writes from a container's network namespace to the real parameter fail
 * (EOPNOTSUPP outside the initial one): kube-proxy and the like raise it at
 * start, so a value they can set and read back keeps them going.
 */
import { dir, type DirSpec, file, FuseError, type NodeSpec } from "../fuse/mod.ts";
import { ERRNO } from "../sys/errno.ts";
import { containerRoot, type Emulation } from "./container.ts";

export const NF_CONNTRACK_PARAMETERS = "/sys/module/nf_conntrack/parameters";
export const HASHSIZE = `${NF_CONNTRACK_PARAMETERS}/hashsize`;
/** 4 Mi buckets (32 MiB of host memory): above what kube-proxy asks for on large machines. */
export const HASHSIZE_MAX = 1 << 22;

const einval = (why: string) => new FuseError(ERRNO.EINVAL, why);

/** A written hashsize as the kernel parses it (kstrtouint, base 0), then bounded; EINVAL otherwise. */
export function parseHashsize(text: string): number {
  const t = text.replace(/\n$/, "");
  let n: number;
  if (/^\+?0x[0-9a-f]+$/i.test(t)) n = parseInt(t.replace(/^\+/, "").slice(2), 16);
  else if (/^\+?0[0-7]*$/.test(t)) n = parseInt(t.replace(/^\+/, ""), 8);
  else if (/^\+?[1-9]\d*$/.test(t)) n = Number(t.replace(/^\+/, ""));
  else throw einval(`not an unsigned integer: ${JSON.stringify(text)}`);
  if (!(n >= 1 && n <= HASHSIZE_MAX)) throw einval(`${t} is outside 1..${HASHSIZE_MAX}`);
  return n;
}

/** What a write of `value` does: the container's new value, and the host's if it must grow. */
export function hashsizeWrite(value: number, host: number | undefined): { container: number; host?: number } {
  return host !== undefined && value > host ? { container: value, host: value } : { container: value };
}

function readHostHashsize(em: Emulation): number | undefined {
  try {
    const t = em.host.readFile(HASHSIZE).trim();
    return /^\d+$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
}

function hashsizeFile(em: Emulation, mode: number): NodeSpec {
  return file(
    () => {
      const own = em.state.sysctls[HASHSIZE];
      if (own !== undefined) return `${own}\n`;
      const host = readHostHashsize(em);
      if (host === undefined) throw new FuseError(ERRNO.EIO, `cannot read the host's ${HASHSIZE}`);
      return `${host}\n`;
    },
    {
      ...containerRoot(em.info),
      mode,
      size: 4096,
      write: (_ctx, data, offset) => {
        if (offset > 0) return;
        const w = hashsizeWrite(parseHashsize(new TextDecoder().decode(data)), readHostHashsize(em));
        if (w.host !== undefined) {
          try {
            em.host.writeFile(HASHSIZE, String(w.host));
            em.log?.debug(`${em.info.id}: raised the host's nf_conntrack hashsize to ${w.host}`);
          } catch (e) {
            // The container keeps its value either way; the host's table just stays smaller.
            em.log?.warn(`${em.info.id}: raising the host's nf_conntrack hashsize to ${w.host}: ${(e as Error).message}`);
          }
        }
        if (em.state.sysctls[HASHSIZE] !== String(w.container)) {
          em.state.sysctls[HASHSIZE] = String(w.container);
          em.changed();
        }
      },
    },
  );
}

function hostParameter(em: Emulation, name: string): NodeSpec | undefined {
  const path = `${NF_CONNTRACK_PARAMETERS}/${name}`;
  const st = em.host.stat(path);
  if (!st || st.kind !== "file" || st.symlink) return undefined;
  return file(
    () => {
      try {
        return em.host.readFile(path);
      } catch (e) {
        throw FuseError.from(e);
      }
    },
    { uid: st.uid, gid: st.gid, mode: st.mode & ~0o222, size: 4096 },
  );
}

function parametersDir(em: Emulation): DirSpec {
  const hostMode = em.host.stat(HASHSIZE)?.mode ?? 0o600;
  return dir(
    { hashsize: hashsizeFile(em, hostMode) },
    {
      mode: em.host.stat(NF_CONNTRACK_PARAMETERS)?.mode ?? 0o755,
      lookup: (_ctx, name) => hostParameter(em, name),
      list: () => {
        let names: string[];
        try {
          names = em.host.list(NF_CONNTRACK_PARAMETERS).map((e) => e.name);
        } catch {
          return [];
        }
        return names.flatMap((n) => {
          const node = hostParameter(em, n);
          return node ? [[n, node] as const] : [];
        });
      },
    },
  );
}

export function sysModule(em: Emulation): DirSpec {
  const present = () => em.host.stat(NF_CONNTRACK_PARAMETERS)?.kind === "dir";
  const module = () => dir({ parameters: parametersDir(em) }, { mode: 0o755 });
  return dir(
    {},
    {
      mode: 0o755,
      lookup: (_ctx, name) => (name === "nf_conntrack" && present() ? module() : undefined),
      list: () => (present() ? [["nf_conntrack", module()] as const] : []),
    },
  );
}
