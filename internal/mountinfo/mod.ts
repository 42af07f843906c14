/**
 * /proc/PID/mountinfo (proc(5)), parsed. Pure, so recorded files from other
 * hosts can be tested; cgroups, the ID-mapped rootfs and sysbox-fs read it.
 */

export interface MountInfoEntry {
  id: number;
  parentId: number;
  majorMinor: string;
  /** Root of the mount within its filesystem; for cgroupfs, the hierarchy path bound here. */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  optionalFields: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Undoes the kernel's octal escaping of space, tab, newline and backslash (`\040`). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
 *  id par dev  root  point  options  optional… -  type source  super-options
 */
export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (fields.length < 10 || sep < 0 || fields.length < sep + 3) {
      throw new SyntaxError(`Cannot parse mountinfo line: ${JSON.stringify(line)}`);
    }
    out.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      majorMinor: fields[2]!,
      root: unescapeMountPath(fields[3]!),
      mountPoint: unescapeMountPath(fields[4]!),
      mountOptions: fields[5]!.split(","),
      optionalFields: fields.slice(6, sep),
      fsType: fields[sep + 1]!,
      source: unescapeMountPath(fields[sep + 2]!),
      superOptions: (fields[sep + 3] ?? "").split(",").filter((o) => o !== ""),
    });
  }
  return out;
}
