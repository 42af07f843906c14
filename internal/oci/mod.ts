/**
 * OCI runtime-spec documents: config.json, the `exec --process` object, the
 * `update --resources` object and the state object, as valibot schemas with
 * inferred types, and parsers that throw `ConfigError` naming the field.
 */
export * from "./config.ts";
export * from "./state.ts";
export {
  ConfigError,
  formatPath,
  parseConfig,
  parseContainerProcessState,
  parseJson,
  parseProcess,
  parseResources,
  parseState,
  toI64,
  toU64,
  validate,
  type ConfigIssue,
} from "./parse.ts";
