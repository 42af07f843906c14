/**
 * The OCI state object (runtime.md "State"): what `state` prints and what
 * hooks read on stdin, plus the container-process state a seccomp listener
 * receives next to the notify fd (config-linux.md "listenerPath").
 */
import * as v from "valibot";
import { int, obj, oneOf, opt, str, strMap, strs } from "./_schema.ts";

export const CONTAINER_STATUSES = ["creating", "created", "running", "stopped"] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const StateSchema = obj({
  ociVersion: str(),
  id: str(),
  status: oneOf(CONTAINER_STATUSES),
  pid: opt(int()),
  bundle: str(),
  annotations: opt(strMap()),
});

/** Name of the seccomp notify fd in `ContainerProcessState.fds`. */
export const SECCOMP_FD_NAME = "seccompFd";

export const ContainerProcessStateSchema = obj({
  ociVersion: str(),
  fds: strs(),
  pid: int(),
  metadata: opt(str()),
  state: StateSchema,
});

export type State = v.InferOutput<typeof StateSchema>;
export type ContainerProcessState = v.InferOutput<typeof ContainerProcessStateSchema>;
