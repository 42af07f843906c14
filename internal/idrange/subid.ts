/**
 * /etc/subuid and /etc/subgid (subuid(5)): one `name:start:count` per line.
 * Pure parsing and hole finding; the files are read and written in setup.ts.
 */

/** A half-open run of ids [start, start + size). */
export interface IdSpan {
  start: number;
  size: number;
}

export interface SubidEntry extends IdSpan {
  /** User name (or numeric uid) the ids are delegated to. */
  name: string;
  /** 1-based line number, for messages. */
  line: number;
}

export interface SubidFile {
  entries: SubidEntry[];
  /** Lines that are neither entries, blanks nor comments; kept as they are when the file is rewritten. */
  invalid: { line: number; text: string }[];
}

/** Ids are 32-bit and (uid_t)-1 means "no id": every range must end at or below this. */
export const ID_LIMIT = 0xffffffff;

const DECIMAL = /^\d+$/;

export function parseSubid(text: string): SubidFile {
  const entries: SubidEntry[] = [];
  const invalid: SubidFile["invalid"] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(":");
    const [name, start, count] = fields;
    if (fields.length !== 3 || !name || !DECIMAL.test(start ?? "") || !DECIMAL.test(count ?? "")) {
      invalid.push({ line: i + 1, text: raw });
      return;
    }
    entries.push({ name, start: Number(start), size: Number(count), line: i + 1 });
  });
  return { entries, invalid };
}

/** `text` with `lines` appended, each on its own line. */
export function appendLines(text: string, lines: readonly string[]): string {
  if (lines.length === 0) return text;
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${lines.join("\n")}\n`;
}

export function formatEntry(name: string, span: IdSpan): string {
  return `${name}:${span.start}:${span.size}`;
}

export function spanEnd(s: IdSpan): number {
  return s.start + s.size;
}

export function overlaps(a: IdSpan, b: IdSpan): boolean {
  return a.size > 0 && b.size > 0 && a.start < spanEnd(b) && b.start < spanEnd(a);
}

/** `first-last` with an inclusive last id, as people read ranges. */
export function spanText(s: IdSpan): string {
  return `${s.start}-${spanEnd(s) - 1}`;
}

export interface HoleQuery {
  /** Lowest id the hole may start at. */
  min: number;
  /** End (exclusive) the hole may not pass. */
  end: number;
  /** Every hole start is a multiple of this. */
  align: number;
}

/**
 * The free holes among `taken` within [min, end), each starting on an
 * `align` boundary and shortened to a multiple of `align`; in id order.
 */
export function freeHoles(taken: readonly IdSpan[], q: HoleQuery): IdSpan[] {
  const busy = taken.filter((s) => s.size > 0).toSorted((a, b) => a.start - b.start);
  const holes: IdSpan[] = [];
  let cursor = q.min;
  const emit = (from: number, to: number) => {
    const start = Math.ceil(from / q.align) * q.align;
    const size = Math.floor((Math.min(to, q.end) - start) / q.align) * q.align;
    if (size > 0) holes.push({ start, size });
  };
  for (const s of busy) {
    if (s.start > cursor) emit(cursor, s.start);
    cursor = Math.max(cursor, spanEnd(s));
    if (cursor >= q.end) return holes;
  }
  emit(cursor, q.end);
  return holes;
}

/** The first hole that holds `size` ids, else the largest one; undefined when there is none. */
export function firstFit(holes: readonly IdSpan[], size: number): IdSpan | undefined {
  const fit = holes.find((h) => h.size >= size);
  if (fit) return { start: fit.start, size };
  return holes.reduce<IdSpan | undefined>((best, h) => (best === undefined || h.size > best.size ? h : best), undefined);
}
