/** internal/syscont: the spec rewrite that makes a container a system container, and inner-image sync. */
export * from "./spec.ts";
export * from "./innerimages.ts";
export * from "./settings.ts";
