/**
 * The subordinate-id limits of /etc/login.defs (login.defs(5)): where ranges
 * handed out for subuid and subgid may start and end. Pure.
 */

export interface SubidLimits {
  /** Lowest subordinate uid (SUB_UID_MIN). */
  uidMin: number;
  /** Highest subordinate uid, inclusive (SUB_UID_MAX). */
  uidMax: number;
  gidMin: number;
  gidMax: number;
}

/** Used where login.defs says nothing; Sysbox's defaults. */
export const DEFAULT_LIMITS: SubidLimits = {
  uidMin: 100000,
  uidMax: 4294967295,
  gidMin: 100000,
  gidMax: 4294967295,
};

const KEYS = {
  SUB_UID_MIN: "uidMin",
  SUB_UID_MAX: "uidMax",
  SUB_GID_MIN: "gidMin",
  SUB_GID_MAX: "gidMax",
} as const satisfies Record<string, keyof SubidLimits>;

/** A number as shadow reads it (strtoul base 0): decimal, 0x hex or 0 octal; undefined if malformed. */
export function parseDefNumber(s: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) n = parseInt(s.slice(1), 8);
  else if (/^\d+$/.test(s)) n = parseInt(s, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Reads the SUB_[UG]ID_{MIN,MAX} settings; missing or malformed ones keep their defaults. */
export function parseLoginDefs(text: string, defaults: SubidLimits = DEFAULT_LIMITS): SubidLimits {
  const limits = { ...defaults };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [key, value] = line.split(/\s+/, 2);
    if (key === undefined || value === undefined || !Object.hasOwn(KEYS, key)) continue;
    const n = parseDefNumber(value);
    if (n !== undefined) limits[KEYS[key as keyof typeof KEYS]] = n;
  }
  return limits;
}
