/** The sysbox-runc commands, loaded lazily by cli.ts (see mod.ts). */
export { createContainer, type CreateOptions } from "./create.ts";
export { startContainer } from "./start.ts";
export { runContainer } from "./run.ts";
export { execInContainer } from "./exec.ts";
export { killContainer, deleteContainer, containerState, listContainers, containerPids } from "./lifecycle.ts";
export { pauseContainer, resumeContainer, updateContainer, containerEvents, formatList, formatPs, writeDefaultSpec } from "./ops.ts";
export { features } from "./specgen.ts";
export { parseSignal } from "./signals.ts";
