/**
 * OCI seccomp profiles: `translateSeccomp` turns `linux.seccomp` into a plan
 * (pure data), `loadSeccomp` applies a plan through libseccomp.
 */
import type { LinuxSeccomp } from "../oci/mod.ts";
import { loadSeccomp, type LoadOptions, type LoadResult } from "./load.ts";
import { translateSeccomp, type TranslateOptions } from "./translate.ts";

export { loadSeccomp, type LoadOptions, type LoadResult } from "./load.ts";
export {
  actionValue,
  OPERATORS,
  translateSeccomp,
  type PlanArg,
  type PlanAttr,
  type PlanRule,
  type SeccompPlan,
  type TranslateOptions,
} from "./translate.ts";

/** Translates and loads an OCI `linux.seccomp` section in one step. */
export function loadOciSeccomp(section: LinuxSeccomp, options: TranslateOptions & LoadOptions = {}): LoadResult {
  return loadSeccomp(translateSeccomp(section, options), options);
}
