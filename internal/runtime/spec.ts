/** Loads and validates a bundle's config.json; every error names the field. */
import { readFileSync } from "node:fs";
import { parseConfig, type Spec as OciSpec } from "../oci/mod.ts";

export type Spec = OciSpec;

export function loadSpec(path: string): Spec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code ?? String(e)}`);
  }
  return parseConfig(text, "config.json");
}
