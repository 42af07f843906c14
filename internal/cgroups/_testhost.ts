/** For root tests: the host's cgroup layout, or undefined where none can be read (they skip then). */
import { detectLayout, type CgroupLayout } from "./layout.ts";

export function hostLayoutOrUndefined(): CgroupLayout | undefined {
  try {
    return detectLayout();
  } catch {
    return undefined;
  }
}
