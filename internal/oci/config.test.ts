import { describe, expect, test } from "bun:test";
import { findJsonSyntaxError } from "./_json.ts";
import {
  ConfigError,
  formatPath,
  NAMESPACE_TYPES,
  parseConfig,
  parseProcess,
  parseResources,
  parseState,
  toI64,
  toU64,
  validate,
  LinuxSeccompSchema,
} from "./mod.ts";

const dockerText = await Bun.file(new URL("testdata/docker-config.json", import.meta.url)).text();
const docker = () => JSON.parse(dockerText) as Record<string, any>;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

/** The ConfigError message for `doc` after `mutate`. */
function messageFor(mutate: (doc: Record<string, any>) => void): string {
  const doc = docker();
  mutate(doc);
  return errorOf(() => parseConfig(JSON.stringify(doc))).message;
}

describe("parseConfig on Docker 20.10's config.json", () => {
  const spec = parseConfig(dockerText);

  test("reads the process", () => {
    expect(spec.ociVersion).toBe("1.0.2-dev");
    expect(spec.process?.args).toEqual(["echo", "hi"]);
    expect(spec.process?.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process?.cwd).toBe("/");
    expect(spec.process?.capabilities?.bounding).toHaveLength(14);
    expect(spec.process?.capabilities?.inheritable).toBeUndefined();
    expect(spec.process?.apparmorProfile).toBe("docker-default");
    expect(spec.process?.terminal).toBeUndefined();
  });

  test("reads root, mounts and hooks", () => {
    expect(spec.root?.path).toEndWith("/merged");
    expect(spec.mounts?.map((m) => m.destination)).toContain("/etc/resolv.conf");
    expect(spec.mounts?.[2]?.options).toContain("newinstance");
    expect(spec.hooks?.prestart?.[0]?.args?.[0]).toBe("libnetwork-setkey");
  });

  test("reads linux", () => {
    const linux = spec.linux!;
    expect(linux.namespaces?.map((n) => n.type)).toEqual(["mount", "network", "uts", "pid", "ipc"]);
    expect(linux.sysctl?.["net.ipv4.ping_group_range"]).toBe("0 2147483647");
    expect(linux.resources?.devices?.[0]).toEqual({ allow: false, access: "rwm" });
    expect(linux.resources?.devices?.[7]).toMatchObject({ major: 10, minor: 229 });
    expect(linux.resources?.memory?.disableOOMKiller).toBe(false);
    expect(linux.cgroupsPath).toStartWith("/docker/");
    expect(linux.maskedPaths).toContain("/proc/kcore");
    expect(linux.readonlyPaths).toContain("/proc/sys");
  });

  test("reads the seccomp profile", () => {
    const seccomp = spec.linux!.seccomp!;
    expect(seccomp.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(seccomp.defaultErrnoRet).toBeUndefined();
    expect(seccomp.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const clone = seccomp.syscalls!.find((s) => s.names[0] === "clone")!;
    expect(clone.args).toEqual([{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }]);
    const clone3 = seccomp.syscalls!.find((s) => s.names[0] === "clone3")!;
    expect(clone3).toEqual({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
  });
});

describe("parseConfig is permissive about what it does not know", () => {
  test("keeps unknown fields at every level", () => {
    const doc = docker();
    doc["x-vendor"] = { a: 1 };
    doc.process.scheduler = { policy: "SCHED_OTHER" };
    doc.process.someFutureField = [1, 2];
    doc.linux.netDevices = { eth1: { name: "net1" } };
    doc.linux.resources.memory.futureKnob = "x";
    const spec = parseConfig(JSON.stringify(doc)) as Record<string, any>;
    expect(spec["x-vendor"]).toEqual({ a: 1 });
    expect(spec.process.someFutureField).toEqual([1, 2]);
    expect(spec.process.scheduler).toEqual({ policy: "SCHED_OTHER" });
    expect(spec.linux.netDevices).toEqual({ eth1: { name: "net1" } });
    expect(spec.linux.resources.memory.futureKnob).toBe("x");
  });

  test("treats null in optional fields as absent, as Go does", () => {
    const doc = docker();
    doc.process.env = null;
    doc.linux.seccomp = null;
    doc.mounts[0].options = null;
    const spec = parseConfig(JSON.stringify(doc));
    expect(spec.process?.env).toBeUndefined();
    expect(spec.linux?.seccomp).toBeUndefined();
    expect(spec.mounts?.[0]?.options).toBeUndefined();
  });

  test("accepts the smallest valid document", () => {
    expect(parseConfig('{"ociVersion":"1.2.0"}')).toEqual({ ociVersion: "1.2.0" });
  });

  test("accepts every namespace type, time included", () => {
    const doc = { ociVersion: "1.2.0", linux: { namespaces: NAMESPACE_TYPES.map((type) => ({ type })) } };
    expect(parseConfig(JSON.stringify(doc)).linux?.namespaces).toHaveLength(8);
  });

  test("accepts RLIM_INFINITY rlimits, and toU64 restores the exact value", () => {
    const spec = parseConfig(
      dockerText.replace('"cwd": "/",', '"cwd": "/", "rlimits": [{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615}],'),
    );
    const rl = spec.process!.rlimits![0]!;
    expect(toU64(rl.hard)).toBe(0xffff_ffff_ffff_ffffn);
    expect(toU64(65536)).toBe(65536n);
    expect(toI64(9223372036854775807)).toBe(0x7fff_ffff_ffff_ffffn);
    expect(toI64(-1)).toBe(-1n);
  });
});

describe("parseConfig errors name the field", () => {
  test("unknown namespace type", () => {
    expect(messageFor((d) => (d.linux.namespaces[2].type = "bogus"))).toBe(
      'config.json: linux.namespaces[2].type: expected one of pid|network|mount|ipc|uts|user|cgroup|time, got "bogus"',
    );
  });

  test("wrong scalar types at nested paths", () => {
    expect(messageFor((d) => (d.process.user.uid = "0"))).toBe('config.json: process.user.uid: expected number, got "0"');
    expect(messageFor((d) => (d.process.terminal = "yes"))).toBe('config.json: process.terminal: expected boolean, got "yes"');
    expect(messageFor((d) => (d.mounts[3].options = "ro"))).toBe('config.json: mounts[3].options: expected array, got "ro"');
    expect(messageFor((d) => (d.mounts[3].options[1] = 7))).toBe("config.json: mounts[3].options[1]: expected string, got 7");
    expect(messageFor((d) => (d.linux.resources.devices[4].major = "1"))).toBe(
      'config.json: linux.resources.devices[4].major: expected number, got "1"',
    );
  });

  test("objects and arrays are not interchangeable", () => {
    expect(messageFor((d) => (d.process.user = []))).toBe("config.json: process.user: expected object, got array");
    expect(messageFor((d) => (d.linux.namespaces = {}))).toBe("config.json: linux.namespaces: expected array, got object");
    expect(errorOf(() => parseConfig("[]")).message).toBe("config.json: expected object, got array");
    expect(errorOf(() => parseConfig("42")).message).toBe("config.json: expected object, got 42");
  });

  test("integer ranges", () => {
    expect(messageFor((d) => (d.process.user.gid = -1))).toBe("config.json: process.user.gid: expected an integer >= 0, got -1");
    expect(messageFor((d) => (d.process.user.gid = 2 ** 32))).toBe(
      "config.json: process.user.gid: expected an integer <= 4294967295, got 4294967296",
    );
    expect(messageFor((d) => (d.process.oomScoreAdj = 1.5))).toBe("config.json: process.oomScoreAdj: expected an integer, got 1.5");
    expect(messageFor((d) => (d.hooks.prestart[0].timeout = 0))).toBe(
      "config.json: hooks.prestart[0].timeout: expected a timeout > 0 seconds, got 0",
    );
  });

  test("map keys that are not identifiers are quoted", () => {
    expect(messageFor((d) => (d.linux.sysctl["net.ipv4.ip_forward"] = 1))).toBe(
      'config.json: linux.sysctl["net.ipv4.ip_forward"]: expected string, got 1',
    );
  });

  test("missing required fields", () => {
    expect(messageFor((d) => delete d.process.cwd)).toBe("config.json: process.cwd: required field is missing");
    expect(messageFor((d) => delete d.ociVersion)).toBe("config.json: ociVersion: required field is missing");
    expect(messageFor((d) => delete d.mounts[0].destination)).toBe("config.json: mounts[0].destination: required field is missing");
  });

  test("seccomp enums", () => {
    expect(messageFor((d) => (d.linux.seccomp.syscalls[1].action = "SCMP_ACT_MAYBE"))).toStartWith(
      'config.json: linux.seccomp.syscalls[1].action: expected one of SCMP_ACT_KILL|',
    );
    expect(messageFor((d) => (d.linux.seccomp.syscalls[2].args[0].op = "SCMP_CMP_LIKE"))).toStartWith(
      "config.json: linux.seccomp.syscalls[2].args[0].op: expected one of SCMP_CMP_NE|SCMP_CMP_LT|",
    );
    expect(messageFor((d) => (d.linux.seccomp.architectures[1] = "SCMP_ARCH_Z80"))).toContain(
      'linux.seccomp.architectures[1]: expected one of SCMP_ARCH_X86|',
    );
    expect(messageFor((d) => (d.linux.seccomp.syscalls[2].args[0].index = 6))).toBe(
      "config.json: linux.seccomp.syscalls[2].args[0].index: expected a syscall argument index 0..5, got 6",
    );
  });

  test("collects every issue, reports the first", () => {
    const doc = docker();
    doc.hostname = 1;
    doc.linux.namespaces[0].type = "net";
    const err = errorOf(() => parseConfig(JSON.stringify(doc), "/b/config.json"));
    expect(err.source).toBe("/b/config.json");
    expect(err.path).toBe("hostname");
    expect(err.issues.map((i) => i.path)).toEqual(["hostname", "linux.namespaces[0].type"]);
    expect(err.message).toBe("/b/config.json: hostname: expected string, got 1");
  });
});

describe("parseConfig on malformed JSON", () => {
  test("reports the position of a trailing comma", () => {
    const err = errorOf(() => parseConfig('{"ociVersion": "1.0.2",\n  }'));
    expect(err.message).toBe(
      "config.json: invalid JSON at position 26 (line 2, column 3): unexpected character \"}\", expected a property name",
    );
  });

  test("reports truncation at the end of the text", () => {
    const text = dockerText.slice(0, 1000);
    expect(errorOf(() => parseConfig(text)).message).toStartWith(`config.json: invalid JSON at position 1000 `);
  });

  test("reports an empty file", () => {
    expect(errorOf(() => parseConfig("")).message).toBe(
      "config.json: invalid JSON at position 0 (line 1, column 1): unexpected end of input",
    );
  });

  test("reports a bad literal inside the document", () => {
    const text = dockerText.replace('"readonly', '"x": tru, "readonly');
    const at = text.indexOf("tru,") + 3;
    expect(errorOf(() => parseConfig(text)).message).toStartWith(`config.json: invalid JSON at position ${at} `);
  });
});

describe("findJsonSyntaxError", () => {
  test("finds nothing wrong in valid JSON", () => {
    for (const text of [dockerText, "0", "-0.5e+3", ' "a\\u00e9\\n" ', "[]", "{}", "[1,[2,{}],null,true,false]"]) {
      expect(findJsonSyntaxError(text)).toBeNull();
    }
  });

  test("agrees with JSON.parse on every prefix of a real config", () => {
    const text = dockerText.slice(0, 600);
    for (let n = 0; n < text.length; n++) {
      const prefix = text.slice(0, n);
      let ok = true;
      try {
        JSON.parse(prefix);
      } catch {
        ok = false;
      }
      expect(findJsonSyntaxError(prefix) === null).toBe(ok);
    }
  });

  test("cases", () => {
    const at = (t: string) => findJsonSyntaxError(t)?.offset;
    expect(at("[1 2]")).toBe(3);
    expect(at('{"a" 1}')).toBe(5);
    expect(at("[01]")).toBe(2);
    expect(at('"\\x"')).toBe(2);
    expect(at('"a\nb"')).toBe(2);
    expect(at("[1.]")).toBe(3);
    expect(at("{} x")).toBe(3);
    expect(at("[-]")).toBe(2);
  });
});

describe("other documents", () => {
  test("parseProcess reads an exec process", () => {
    const p = parseProcess(
      JSON.stringify({
        user: { uid: 1000, gid: 1000, additionalGids: [27] },
        args: ["sh"],
        env: ["TERM=xterm"],
        cwd: "/root",
        terminal: true,
        consoleSize: { height: 24, width: 80 },
        capabilities: { bounding: ["CAP_KILL"] },
        noNewPrivileges: true,
      }),
    );
    expect(p.user.additionalGids).toEqual([27]);
    expect(p.consoleSize).toEqual({ height: 24, width: 80 });
    expect(errorOf(() => parseProcess('{"user":{"uid":0,"gid":0},"cwd":"/","args":"sh"}', "/bundle/process.json")).message).toBe(
      '/bundle/process.json: args: expected array, got "sh"',
    );
  });

  test("parseResources reads `update --resources -` input", () => {
    const r = parseResources('{"memory":{"limit":536870912,"swap":-1},"cpu":{"quota":50000,"period":100000,"cpus":"0-1"},"pids":{"limit":100}}');
    expect(r.memory?.swap).toBe(-1);
    expect(r.cpu?.cpus).toBe("0-1");
    expect(errorOf(() => parseResources('{"blockIO":{"weight":70000}}', "stdin")).message).toBe(
      "stdin: blockIO.weight: expected an integer <= 65535, got 70000",
    );
  });

  test("parseState", () => {
    const s = parseState('{"ociVersion":"1.0.2","id":"c1","status":"running","pid":42,"bundle":"/b"}');
    expect(s.status).toBe("running");
    expect(errorOf(() => parseState('{"ociVersion":"1.0.2","id":"c1","status":"paused","bundle":"/b"}')).message).toBe(
      'state: status: expected one of creating|created|running|stopped, got "paused"',
    );
  });

  test("validate keeps paths absolute with a prefix", () => {
    const err = errorOf(() =>
      validate(LinuxSeccompSchema, { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: "x" }] }, {
        source: "config.json",
        prefix: ["linux", "seccomp"],
      }),
    );
    expect(err.message).toBe('config.json: linux.seccomp.syscalls[0].names: expected array, got "x"');
  });

  test("formatPath", () => {
    expect(formatPath([])).toBe("");
    expect(formatPath([0, "a", "b-c", 2])).toBe('[0].a["b-c"][2]');
  });
});
