/**
 * OCI seccomp profiles: `translateSeccomp` turns `linux.seccomp` into a plan
 * (pure data), `loadSeccomp` applies a plan through libseccomp.
 */
import type { LinuxSeccomp } from "../oci/mod.ts";
import { buildSeccomp, loadSeccomp, type BuiltFilter, type LoadOptions, type LoadResult } from "./load.ts";
import { translateSeccomp, type TranslateOptions } from "./translate.ts";

export { buildSeccomp, loadSeccomp, type BuiltFilter, type LoadOptions, type LoadResult } from "./load.ts";
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

/** Translates and builds an OCI `linux.seccomp` section, to load later (see BuiltFilter). */
export function buildOciSeccomp(section: LinuxSeccomp, options: TranslateOptions & LoadOptions = {}): BuiltFilter {
  return buildSeccomp(translateSeccomp(section, options), options);
}
