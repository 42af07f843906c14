/**
 * Conversions from the v1-shaped OCI values to cgroup2 knobs, with runc's
 * formulas (opencontainers/cgroups utils.go) so both runtimes agree.
 */

/**
 * cpu.shares [2, 262144] → cpu.weight [1, 10000]: a quadratic in log2(shares)
 * that maps 2 → 1, 1024 → 100 and 262144 → 10000 exactly. 0 means unset.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return Math.ceil(Math.pow(10, exponent));
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linearly. 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (v1 memsw); cgroup2 memory.swap.max is swap
 * alone. Returns the v2 value: -1 max, 0 unset, else bytes.
 */
export function memorySwapToV2(swap: number, memory: number): number {
  if (memory === -1 && swap === 0) return -1; // "unlimited memory" also lifts swap, as on v1
  if (swap === -1 || swap === 0) return swap;
  if (memory === -1) return swap;
  if (memory === 0) throw new Error("Unable to set swap limit without memory limit");
  if (memory < 0) throw new RangeError(`Invalid memory value: ${memory}`);
  if (swap < memory) throw new RangeError("Memory+swap limit should be >= memory limit");
  return swap - memory;
}

/** A byte count for a cgroup2 knob: 0 → undefined (leave alone), -1 → "max". */
export function v2Bytes(value: number | undefined): string | undefined {
  if (value === undefined || value === 0) return undefined;
  if (value === -1) return "max";
  return String(value);
}
