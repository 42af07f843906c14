/**
 * Emulated entries under /proc/sys/net. The kernel namespaces almost all of
 * net/ per network namespace, and those pass through to the caller's own
 * (proc_sys.ts). The limits below are the ones Sysbox emulates because
 * container tools (kubelet, kube-proxy, dockerd) write them expecting a
 * machine-wide effect:
 *
 *   file                                              policy   accepted values
 *   net/core/somaxconn                                max      0..2^31-1
 *   net/unix/max_dgram_qlen                           max      0..2^31-1
 *   net/netfilter/nf_conntrack_max                    max      0..2^31-1
 *   net/netfilter/nf_conntrack_generic_timeout        max      0..2^31-1
 *   net/netfilter/nf_conntrack_tcp_timeout_established max     0..2^31-1
 *   net/netfilter/nf_conntrack_tcp_timeout_close_wait max      0..2^31-1
 *
 * "max": the container reads what it wrote; a value above the host's raises
 * the host's; nothing lowers it.
 */
import { INT_MAX, intRange, type SysctlSpec } from "./sysctl.ts";

const limit = intRange(0, INT_MAX);

export const NET_SYSCTLS: readonly SysctlSpec[] = [
  { path: "net/core/somaxconn", policy: "max", parse: limit },
  { path: "net/unix/max_dgram_qlen", policy: "max", parse: limit },
  { path: "net/netfilter/nf_conntrack_max", policy: "max", parse: limit },
  { path: "net/netfilter/nf_conntrack_generic_timeout", policy: "max", parse: limit },
  { path: "net/netfilter/nf_conntrack_tcp_timeout_established", policy: "max", parse: limit },
  { path: "net/netfilter/nf_conntrack_tcp_timeout_close_wait", policy: "max", parse: limit },
];
