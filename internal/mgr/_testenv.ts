/**
 * A fake host for mgr tests: a temp dir with etc/{passwd,subuid,subgid,login.defs}
 * and a data root. It lives under /var/tmp because the data root may not be on
 * tmpfs, which /tmp often is.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestHost {
  dir: string;
  hostRoot: string;
  dataRoot: string;
  etc(file: string): string;
  [Symbol.dispose](): void;
}

export function testHost(opts: { subuid?: string; subgid?: string; loginDefs?: string; passwd?: string } = {}): TestHost {
  const base = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();
  const dir = mkdtempSync(join(base, "mgr-test-"));
  const hostRoot = join(dir, "host");
  const etc = (f: string) => join(hostRoot, "etc", f);
  mkdirSync(join(hostRoot, "etc"), { recursive: true });
  writeFileSync(etc("passwd"), opts.passwd ?? "root:x:0:0:root:/root:/bin/bash\nsysbox:x:999:999::/nonexistent:/bin/false\n");
  if (opts.subuid !== undefined) writeFileSync(etc("subuid"), opts.subuid);
  if (opts.subgid !== undefined) writeFileSync(etc("subgid"), opts.subgid ?? opts.subuid);
  if (opts.loginDefs !== undefined) writeFileSync(etc("login.defs"), opts.loginDefs);
  return {
    dir,
    hostRoot,
    dataRoot: join(dir, "data"),
    etc,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
