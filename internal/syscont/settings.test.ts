import { describe, expect, test } from "bun:test";
import {
  checkSkipUidShift, execSettings, parseSettings, resolveSettings, SettingsError, skipsUidShift, SYSBOX_SETTING_DEFAULTS, trapGroups,
} from "./settings.ts";

describe("parseSettings", () => {
  test("each variable with Sysbox's values; other variables are ignored", () => {
    expect(parseSettings([
      "PATH=/bin", "SYSBOX_HONOR_CAPS=TRUE", "SYSBOX_SYSCONT_MODE=FALSE", "SYSBOX_IGNORE_SYSFS_CHOWN=TRUE",
      "SYSBOX_ALLOW_TRUSTED_XATTR=FALSE", "SYSBOX_SKIP_UID_SHIFT=/data,/var/lib/x/",
    ])).toEqual({ honorCaps: true, syscontMode: false, ignoreSysfsChown: true, allowTrustedXattr: false, skipUidShift: ["/data", "/var/lib/x"] });
    expect(parseSettings(["HOME=/root", "MY_SYSBOX_X=1"])).toEqual({});
  });

  test("a later entry of the same name wins", () => {
    expect(parseSettings(["SYSBOX_HONOR_CAPS=TRUE", "SYSBOX_HONOR_CAPS=FALSE"])).toEqual({ honorCaps: false });
  });

  test("an unknown SYSBOX_* variable fails, naming it and the known ones", () => {
    expect(() => parseSettings(["SYSBOX_NO_SUCH_THING=1"])).toThrow(SettingsError);
    expect(() => parseSettings(["SYSBOX_NO_SUCH_THING=1"])).toThrow(/^SYSBOX_NO_SUCH_THING: unknown per-container setting; the known ones are SYSBOX_HONOR_CAPS, /);
  });

  test.each(["true", "1", "", "yes", "True"])("a boolean must be exactly TRUE or FALSE, not %j", (value) => {
    expect(() => parseSettings([`SYSBOX_HONOR_CAPS=${value}`])).toThrow(`SYSBOX_HONOR_CAPS=${value}: invalid value; expected TRUE or FALSE`);
  });

  test("a variable without a value", () => {
    expect(() => parseSettings(["SYSBOX_HONOR_CAPS"])).toThrow("SYSBOX_HONOR_CAPS: expected SYSBOX_HONOR_CAPS=VALUE");
  });

  test.each([
    ["", /SYSBOX_SKIP_UID_SHIFT: empty value/],
    ["data", /SYSBOX_SKIP_UID_SHIFT: "data" is not an absolute path/],
    ["/a,,/b", /SYSBOX_SKIP_UID_SHIFT: "" is not an absolute path/],
    ["/a b", /white space is not allowed/],
  ])("SYSBOX_SKIP_UID_SHIFT=%j is refused", (value, msg) => {
    expect(() => parseSettings([`SYSBOX_SKIP_UID_SHIFT=${value}`])).toThrow(msg);
  });
});

describe("resolveSettings and the defaults", () => {
  test("Sysbox's defaults: a system container whose root gets every capability, nothing extra trapped", () => {
    expect(resolveSettings({}, SYSBOX_SETTING_DEFAULTS)).toEqual({
      honorCaps: false, syscontMode: true, ignoreSysfsChown: false, allowTrustedXattr: false, skipUidShift: [],
    });
  });

  test("the environment overrides the daemon's defaults either way", () => {
    const daemon = { honorCaps: true, syscontMode: true, ignoreSysfsChown: true, allowTrustedXattr: false };
    expect(resolveSettings({ honorCaps: false, allowTrustedXattr: true }, daemon)).toEqual({
      honorCaps: false, syscontMode: true, ignoreSysfsChown: true, allowTrustedXattr: true, skipUidShift: [],
    });
  });
});

describe("SYSBOX_SKIP_UID_SHIFT targets", () => {
  test("must be bind-mount targets; the message names the path and the binds", () => {
    expect(() => checkSkipUidShift(["/data"], ["/data/", "/etc/hosts"])).not.toThrow();
    expect(() => checkSkipUidShift(["/nope"], ["/etc/hosts", "/data"])).toThrow("SYSBOX_SKIP_UID_SHIFT: /nope is not the target of a bind mount of this container (/data, /etc/hosts)");
    expect(() => checkSkipUidShift(["/nope"], [])).toThrow(/\(it has none\)/);
  });

  test("destinations compare normalized", () => {
    const s = parseSettings(["SYSBOX_SKIP_UID_SHIFT=/data/"]).skipUidShift!;
    expect(skipsUidShift(s, "/data")).toBe(true);
    expect(skipsUidShift(s, "//data/./")).toBe(true);
    expect(skipsUidShift(s, "/data/sub")).toBe(false);
  });
});

describe("exec'd processes", () => {
  const container = resolveSettings({ ignoreSysfsChown: true }, SYSBOX_SETTING_DEFAULTS);

  test("SYSBOX_HONOR_CAPS is per process; the per-container variables are dropped from its env and change nothing", () => {
    const r = execSettings(["A=1", "SYSBOX_HONOR_CAPS=TRUE", "SYSBOX_IGNORE_SYSFS_CHOWN=FALSE", "SYSBOX_SYSCONT_MODE=FALSE"], container);
    expect(r.env).toEqual(["A=1", "SYSBOX_HONOR_CAPS=TRUE"]);
    expect(r.settings).toEqual({ ...container, honorCaps: true });
  });

  test("an unknown or bad variable still fails the exec", () => {
    expect(() => execSettings(["SYSBOX_NO_SUCH_THING=1"], container)).toThrow(/SYSBOX_NO_SUCH_THING/);
    expect(() => execSettings(["SYSBOX_HONOR_CAPS=yes"], container)).toThrow(/expected TRUE or FALSE/);
  });
});

describe("trapGroups", () => {
  test("each setting adds its group; syscont mode off traps nothing", () => {
    const d = SYSBOX_SETTING_DEFAULTS;
    expect(trapGroups(d)).toEqual([]);
    expect(trapGroups({ ...d, ignoreSysfsChown: true })).toEqual(["chown"]);
    expect(trapGroups({ ...d, ignoreSysfsChown: true, allowTrustedXattr: true })).toEqual(["chown", "xattr"]);
    expect(trapGroups({ ...d, syscontMode: false, ignoreSysfsChown: true, allowTrustedXattr: true })).toEqual([]);
  });
});
