/**
 * The systemd cgroup driver's D-Bus side: a container's cgroup is a transient
 * scope unit that systemd creates (StartTransientUnit) and removes (StopUnit).
 * systemd only makes the directory and moves the first pid in; everything
 * after that (limits, freeze, stats, kill) stays with the cgroupfs code, on
 * the path returned here.
 *
 *   runtime                                   systemd (private socket, or via the system bus)
 *     [Hello, AddMatch JobRemoved: bus only]
 *     Get(Manager, "Version")        ->      <- "252.38-1~deb12u1"
 *     StartTransientUnit(name, "replace", props, [])
 *                                    ->      <- job path /org/freedesktop/systemd1/job/N
 *                                            <- JobRemoved(N, job path, name, "done")
 */
import * as posix from "node:path/posix";
import { Connection, DBusConnectionError, DBusError, type ConnectOptions, type DBusValue, type Transport } from "../dbus/mod.ts";
import { detectLayout, type CgroupMode } from "./layout.ts";
import { expandSlice } from "./path.ts";
import { resourceProperties, scopeProperties, type ScopeSpec, type UnitProperty } from "./systemd_props.ts";
import type { LinuxResources } from "./spec.ts";

/** systemd's own socket for root: no bus daemon in between, no Hello, signals sent unasked. */
export const SYSTEMD_PRIVATE_SOCKET = "/run/systemd/private";
export const SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket";
/** How long runc waits for a job. */
export const SYSTEMD_JOB_TIMEOUT_MS = 30_000;

const SD = {
  destination: "org.freedesktop.systemd1",
  path: "/org/freedesktop/systemd1",
  manager: "org.freedesktop.systemd1.Manager",
} as const;

/** dbus-daemon's rule for the signal that ends a job; the private socket needs none. */
export const JOB_REMOVED_MATCH =
  "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1'," +
  "interface='org.freedesktop.systemd1.Manager',member='JobRemoved'";

/** A D-Bus socket to try, and whether a message bus (rather than systemd itself) is on the other end. */
export interface SystemdAddress {
  path: string;
  bus: boolean;
}

/**
 * Where to look for systemd, in order: its private socket, then the system
 * bus ($DBUS_SYSTEM_BUS_ADDRESS when it names a unix:path=).
 */
export function defaultAddresses(env: Record<string, string | undefined> = process.env): SystemdAddress[] {
  const fromEnv = env.DBUS_SYSTEM_BUS_ADDRESS?.split(";")
    .map((a) => /^unix:(?:.*,)?path=([^,]+)/.exec(a)?.[1])
    .find((p) => p !== undefined);
  return [{ path: SYSTEMD_PRIVATE_SOCKET, bus: false }, { path: fromEnv ? decodeURIComponent(fromEnv) : SYSTEM_BUS_SOCKET, bus: true }];
}

/** systemd could not be reached at any address; `reasons` has one line per address tried. */
export class SystemdUnavailableError extends Error {
  readonly reasons: string[];

  constructor(reasons: string[], opts: { notRunning: boolean; cause?: unknown }) {
    super(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd ${opts.notRunning ? "is not running" : "cannot be reached"}: ${reasons[0] ?? "no address to try"}`,
      opts.cause !== undefined ? { cause: opts.cause } : undefined,
    );
    this.name = "SystemdUnavailableError";
    this.reasons = reasons;
  }
}

/** A job that did not end in "done", or did not end in time (`result` "timeout"). */
export class SystemdJobError extends Error {
  readonly unit: string;
  readonly result: string;

  constructor(unit: string, result: string, message: string) {
    super(message);
    this.name = "SystemdJobError";
    this.unit = unit;
    this.result = result;
  }
}

export interface SystemdConnectOptions {
  /** Sockets to try in order; default `defaultAddresses()`. */
  addresses?: SystemdAddress[];
  /** For each address, a byte stream to use instead of its socket (tests). */
  transport?: (addr: SystemdAddress) => Transport;
  uid?: number;
  /** Deadline for connecting, authentication and each call; default 25 s. */
  timeoutMs?: number;
}

/** A connection to systemd's Manager; close it (or `using`) when done. */
export class SystemdBus {
  private cachedVersion: number | undefined;

  constructor(readonly conn: Connection, readonly viaBus: boolean) {}

  /** The Manager's Version as a number (252 for "252.38-1~deb12u1"); -1 if unreadable. */
  version(): number {
    if (this.cachedVersion === undefined) {
      const reply = this.conn.call({
        destination: SD.destination, path: SD.path, interface: "org.freedesktop.DBus.Properties", member: "Get",
        signature: "ss", body: [SD.manager, "Version"],
      });
      const v = reply.body?.[0] as { value?: unknown } | undefined;
      const m = /^"?v?(\d+)/.exec(String(v?.value ?? ""));
      this.cachedVersion = m ? Number(m[1]) : -1;
    }
    return this.cachedVersion;
  }

  /** Calls a Manager method; returns the reply body. */
  manager(call: { member: string; signature?: string; body?: DBusValue[] }, opts: { timeoutMs?: number } = {}): DBusValue[] {
    return this.conn.call({ destination: SD.destination, path: SD.path, interface: SD.manager, ...call }, opts).body ?? [];
  }

  close(): void {
    this.conn.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** systemd is simply absent (as opposed to refusing us or hanging). */
function isAbsent(e: unknown): boolean {
  if (e instanceof DBusConnectionError) return e.code === "connect" && (e.errno === "ENOENT" || e.errno === "ECONNREFUSED");
  return e instanceof DBusError && /ServiceUnknown|NameHasNoOwner/.test(e.errorName);
}

function reasonOf(addr: SystemdAddress, e: unknown): string {
  if (e instanceof DBusError && /ServiceUnknown|NameHasNoOwner/.test(e.errorName)) {
    return `${addr.path}: no org.freedesktop.systemd1 on the bus (${e.errorName})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Connects to systemd, trying each address in turn, and reads its version so
 * a bus without systemd on it fails here. Throws `SystemdUnavailableError`.
 */
export function connectSystemd(opts: SystemdConnectOptions = {}): SystemdBus {
  const reasons: string[] = [];
  let first: unknown;
  let allAbsent = true;
  for (const addr of opts.addresses ?? defaultAddresses()) {
    let conn: Connection | undefined;
    try {
      const copts: ConnectOptions = { hello: addr.bus };
      if (opts.uid !== undefined) copts.uid = opts.uid;
      if (opts.timeoutMs !== undefined) copts.timeoutMs = opts.timeoutMs;
      if (opts.transport) copts.transport = opts.transport(addr);
      conn = Connection.open(addr.path, copts);
      if (addr.bus) conn.addMatch(JOB_REMOVED_MATCH);
      const bus = new SystemdBus(conn, addr.bus);
      bus.version();
      return bus;
    } catch (e) {
      conn?.close();
      first ??= e;
      allAbsent &&= isAbsent(e);
      reasons.push(reasonOf(addr, e));
    }
  }
  throw new SystemdUnavailableError(reasons, { notRunning: allAbsent, cause: first });
}

export interface ScopeOptions {
  /** An open connection to reuse; otherwise one is opened and closed around the call. */
  bus?: SystemdBus;
  /** Which property names to send; default: this host's layout. */
  cgroupMode?: CgroupMode;
  /** How long to wait for the job; default 30 s. */
  timeoutMs?: number;
  connect?: SystemdConnectOptions;
}

export interface TransientScope {
  unit: string;
  /** The unit's cgroup below the hierarchy root, e.g. /system.slice/docker-<id>.scope. */
  cgroupPath: string;
  /** What was sent, for logs. */
  properties: UnitProperty[];
}

function withBus<T>(opts: { bus?: SystemdBus; connect?: SystemdConnectOptions }, fn: (bus: SystemdBus) => T): T {
  if (opts.bus) return fn(opts.bus);
  using bus = connectSystemd(opts.connect);
  return fn(bus);
}

/** Waits for JobRemoved of `job`; returns its result ("done", "failed", "canceled", ...). */
function waitJob(bus: SystemdBus, job: string, unit: string, timeoutMs: number, what: string): string {
  try {
    const sig = bus.conn.waitForSignal(
      (m) => m.interface === SD.manager && m.member === "JobRemoved" && m.body?.[1] === job,
      { timeoutMs },
    );
    return String(sig.body?.[3] ?? "");
  } catch (e) {
    if (e instanceof DBusConnectionError && e.code === "timeout") {
      throw new SystemdJobError(unit, "timeout", `timed out after ${timeoutMs / 1000}s waiting for systemd to ${what} unit ${unit}`);
    }
    throw e;
  }
}

/** Clears a failed unit so its name can be reused; errors are of no interest to callers. */
export function resetFailedUnit(bus: SystemdBus, unit: string): void {
  try {
    bus.manager({ member: "ResetFailedUnit", signature: "s", body: [unit] });
  } catch {
    // Not failed, or gone already: nothing to reset.
  }
}

/**
 * Creates the transient scope (or slice) with `scope.pid` in it and waits
 * until systemd's job is done. A leftover unit of the same name is reset and
 * the start retried once, as runc does.
 */
export function startTransientScope(scope: ScopeSpec, opts: ScopeOptions = {}): TransientScope {
  const unit = scope.unitName;
  const cgroupPath = posix.join(expandSlice(scope.slice), unit);
  const timeoutMs = opts.timeoutMs ?? SYSTEMD_JOB_TIMEOUT_MS;
  return withBus(opts, (bus) => {
    const properties = scopeProperties(scope, {
      cgroupMode: opts.cgroupMode ?? detectLayout().mode,
      systemdVersion: bus.version(),
    });
    let job: string;
    try {
      job = startUnit(bus, unit, properties);
    } catch (e) {
      if (!(e instanceof DBusError && e.errorName === "org.freedesktop.systemd1.UnitExists")) throw e;
      resetFailedUnit(bus, unit);
      job = startUnit(bus, unit, properties);
    }
    let result: string;
    try {
      result = waitJob(bus, job, unit, timeoutMs, "create");
    } catch (e) {
      resetFailedUnit(bus, unit);
      throw e;
    }
    if (result !== "done") {
      resetFailedUnit(bus, unit);
      throw new SystemdJobError(unit, result, `systemd failed to create unit ${unit}: job ${result}`);
    }
    return { unit, cgroupPath, properties };
  });
}

/**
 * Records new limits on a live unit (SetUnitProperties, runtime only, as
 * runc's systemd manager does on update). Writing cgroupfs alone is not
 * enough: systemd re-applies the unit's own properties on daemon-reload.
 * Returns the properties sent; none are sent when the resources map to none.
 */
export function setUnitResources(unit: string, resources: LinuxResources, opts: Omit<ScopeOptions, "timeoutMs"> = {}): UnitProperty[] {
  return withBus(opts, (bus) => {
    const properties = resourceProperties(resources, { cgroupMode: opts.cgroupMode ?? detectLayout().mode, systemdVersion: bus.version() });
    if (properties.length > 0) bus.manager({ member: "SetUnitProperties", signature: "sba(sv)", body: [unit, true, properties] });
    return properties;
  });
}

function startUnit(bus: SystemdBus, unit: string, properties: UnitProperty[]): string {
  const [job] = bus.manager({ member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))", body: [unit, "replace", properties, []] });
  return String(job);
}

/**
 * Stops the unit (killing what is left in it) and waits for the job. A unit
 * that is already gone is success; one whose stop job did not finish as
 * "done" is reset and reported through the return value, as runc only warns.
 */
export function stopUnit(unit: string, opts: Omit<ScopeOptions, "cgroupMode"> = {}): { result: string } {
  const timeoutMs = opts.timeoutMs ?? SYSTEMD_JOB_TIMEOUT_MS;
  return withBus(opts, (bus) => {
    let job: string;
    try {
      [job] = bus.manager({ member: "StopUnit", signature: "ss", body: [unit, "replace"] }) as [string];
    } catch (e) {
      if (e instanceof DBusError && e.errorName === "org.freedesktop.systemd1.NoSuchUnit") return { result: "gone" };
      throw e;
    }
    const result = waitJob(bus, job, unit, timeoutMs, "stop");
    resetFailedUnit(bus, unit);
    return { result };
  });
}
