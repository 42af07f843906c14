/** Version facts shared by the three executables; COMMIT is set at build time. */
import pkg from "../../package.json" with { type: "json" };

declare const SYSBOX_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof SYSBOX_COMMIT === "string" ? SYSBOX_COMMIT : "unknown";
/** The OCI runtime spec version sysbox-runc implements. */
export const OCI_SPEC_VERSION = "1.1.0";

/** `runc --version` layout: name and version, `commit:`, `spec:`. */
export function versionText(name: string): string {
  return `${name} version ${VERSION}\ncommit: ${COMMIT}\nspec: ${OCI_SPEC_VERSION}\n`;
}
