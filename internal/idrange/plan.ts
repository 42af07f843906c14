/**
 * Decides sysbox's subordinate id ranges from the texts of /etc/subuid,
 * /etc/subgid and the login.defs limits, and the new file texts when an entry
 * has to be added. Pure; setup.ts does the file I/O.
 *
 *   sysbox in neither file  -> add one range (RANGE_WANTED ids, or the largest
 *                              hole if none is that big), first-fit above the
 *                              MIN limits, free in both files, same start
 *   sysbox in one file only -> copy its entries to the other file, if free there
 *   sysbox in both          -> use the entries present in both with the same
 *                              start and count (a container's uid and gid
 *                              ranges must match); others are warned about
 *
 * Other users' lines are never changed; new lines are appended.
 */
import type { SubidLimits } from "./logindefs.ts";
import { ID_LIMIT, appendLines, firstFit, formatEntry, freeHoles, overlaps, parseSubid, spanText, type IdSpan, type SubidEntry } from "./subid.ts";

/** Ids per container. */
export const BLOCK_SIZE = 65536;
/** Size of the range added when sysbox has none: room for 4096 containers. */
export const RANGE_WANTED = BLOCK_SIZE * 4096;
export const SYSBOX_USER = "sysbox";

/** The subordinate id files cannot give sysbox a usable range; the message says what to change. */
export class SubidSetupError extends Error {
  override name = "SubidSetupError";
}

export interface PlanInput {
  subuid: string;
  subgid: string;
  limits: SubidLimits;
  /** Paths for messages only. */
  subuidPath?: string;
  subgidPath?: string;
  user?: string;
  /** Size of a range to add; default RANGE_WANTED. */
  wanted?: number;
  blockSize?: number;
}

export interface Plan {
  /** Sysbox's ranges, the same for uids and gids. */
  ranges: IdSpan[];
  /** New file texts, present only when the file must change. */
  subuid?: string;
  subgid?: string;
  /** The range added to both files, if one was. */
  added?: IdSpan;
  warnings: string[];
}

const key = (s: IdSpan) => `${s.start}:${s.size}`;
const listText = (es: readonly IdSpan[]) => es.map(spanText).join(", ");

export function planSysboxRanges(input: PlanInput): Plan {
  const user = input.user ?? SYSBOX_USER;
  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const uidPath = input.subuidPath ?? "/etc/subuid";
  const gidPath = input.subgidPath ?? "/etc/subgid";
  const uidFile = parseSubid(input.subuid);
  const gidFile = parseSubid(input.subgid);
  const warnings: string[] = [];
  for (const [path, f] of [[uidPath, uidFile], [gidPath, gidFile]] as const) {
    for (const bad of f.invalid) warnings.push(`${path}:${bad.line}: ignoring malformed line ${JSON.stringify(bad.text)}`);
  }
  const mine = (es: SubidEntry[]) => es.filter((e) => e.name === user);
  const others = (es: SubidEntry[]) => es.filter((e) => e.name !== user);
  const u = mine(uidFile.entries);
  const g = mine(gidFile.entries);

  let plan: Plan;
  if (u.length === 0 && g.length === 0) {
    plan = addRange(input, user, blockSize, [...others(uidFile.entries), ...others(gidFile.entries)], warnings);
  } else if (u.length === 0 || g.length === 0) {
    const [have, havePath, lackPath, lackOthers] = u.length > 0
      ? [u, uidPath, gidPath, others(gidFile.entries)]
      : [g, gidPath, uidPath, others(uidFile.entries)];
    for (const e of have) {
      const clash = lackOthers.find((o) => overlaps(o, e));
      if (clash) {
        throw new SubidSetupError(
          `${user} has ids ${spanText(e)} in ${havePath} but none in ${lackPath}, where they overlap ${clash.name}'s ${spanText(clash)} (line ${clash.line}); ` +
            `give ${user} the same range in both files, or remove its entries to let sysbox-mgr choose one`,
        );
      }
    }
    const lines = have.map((e) => formatEntry(user, e));
    plan = {
      ranges: have.map(({ start, size }) => ({ start, size })),
      ...(u.length > 0 ? { subgid: appendLines(input.subgid, lines) } : { subuid: appendLines(input.subuid, lines) }),
      warnings,
    };
  } else {
    const gKeys = new Set(g.map(key));
    const both = u.filter((e) => gKeys.has(key(e)));
    if (both.length === 0) {
      throw new SubidSetupError(
        `${user}'s entries in ${uidPath} (${listText(u)}) and ${gidPath} (${listText(g)}) differ, but a container's uid and gid ranges must match; ` +
          `make them equal, or remove both to let sysbox-mgr choose one`,
      );
    }
    const bothKeys = new Set(both.map(key));
    for (const e of [...u, ...g].filter((e) => !bothKeys.has(key(e)))) {
      warnings.push(`ignoring ${user}'s range ${spanText(e)}: it is not in both ${uidPath} and ${gidPath}`);
    }
    plan = { ranges: both.map(({ start, size }) => ({ start, size })), warnings };
  }

  for (const r of plan.ranges) {
    if (r.start === 0) throw new SubidSetupError(`${user}'s range ${spanText(r)} includes id 0 (host root); containers must never map to it`);
    if (r.start + r.size > ID_LIMIT) {
      throw new SubidSetupError(`${user}'s range ${spanText(r)} passes the highest valid id ${ID_LIMIT - 1}`);
    }
  }
  if (!plan.ranges.some((r) => r.size >= blockSize)) {
    throw new SubidSetupError(
      `${user}'s range ${listText(plan.ranges)} is smaller than one container's ${blockSize} ids; give ${user} a larger range in ${uidPath} and ${gidPath}`,
    );
  }
  return plan;
}

function addRange(input: PlanInput, user: string, blockSize: number, taken: IdSpan[], warnings: string[]): Plan {
  const { limits } = input;
  const min = Math.max(limits.uidMin, limits.gidMin, 1);
  const end = Math.min(limits.uidMax, limits.gidMax, ID_LIMIT - 1) + 1;
  const holes = freeHoles(taken, { min, end, align: blockSize });
  const range = firstFit(holes, input.wanted ?? RANGE_WANTED);
  if (!range) {
    throw new SubidSetupError(
      `no room for ${user}'s ids: no free range of ${blockSize} ids between ${min} and ${end - 1} (SUB_UID_MIN/SUB_UID_MAX and SUB_GID_MIN/SUB_GID_MAX of login.defs) ` +
        `outside the ranges of ${input.subuidPath ?? "/etc/subuid"} and ${input.subgidPath ?? "/etc/subgid"}`,
    );
  }
  const wanted = input.wanted ?? RANGE_WANTED;
  if (range.size < wanted) {
    warnings.push(`no free range of ${wanted} ids; ${user} gets ${spanText(range)}, room for ${Math.floor(range.size / blockSize)} containers`);
  }
  const line = formatEntry(user, range);
  return {
    ranges: [range],
    subuid: appendLines(input.subuid, [line]),
    subgid: appendLines(input.subgid, [line]),
    added: range,
    warnings,
  };
}
