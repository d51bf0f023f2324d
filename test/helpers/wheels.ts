/**
 * Small pure-Python wheels written by hand (a zip with METADATA, WHEEL, top_level.txt and a
 * RECORD), for dependency tests that must not depend on the network: a directory of them is
 * the platform's `depsFindLinks` with `depsIndexUrl: 'none'`.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface WheelSpec {
  name: string;
  version: string;
  /** Path in the wheel → Python source. */
  modules: Record<string, string>;
  requires?: string[];
}

/** Writes `<dir>/<name>-<version>-py3-none-any.whl`; the directory is made world-readable (the builder's uid reads it). */
export function writeWheel(dir: string, spec: WheelSpec): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const dist = `${spec.name.replace(/-/g, '_')}-${spec.version}`;
  const info = `${dist}.dist-info`;
  const tops = [...new Set(Object.keys(spec.modules).map((p) => p.split('/')[0]!.replace(/\.py$/, '')))].sort();
  const files: [string, string][] = [
    ...Object.entries(spec.modules),
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\n${(spec.requires ?? []).map((r) => `Requires-Dist: ${r}\n`).join('')}`],
    [`${info}/WHEEL`, 'Wheel-Version: 1.0\nGenerator: fastapi-platform-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'],
    [`${info}/top_level.txt`, `${tops.join('\n')}\n`],
  ];
  const record = files.map(([path, text]) => {
    const digest = createHash('sha256').update(text).digest('base64url');
    return `${path},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  files.push([`${info}/RECORD`, `${[...record, `${info}/RECORD,,`].join('\n')}\n`]);
  const path = join(dir, `${dist}-py3-none-any.whl`);
  writeFileSync(path, zip(files));
  return path;
}

/** A stored (uncompressed) zip archive. */
function zip(files: readonly [string, string][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(0o644 << 16, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/**
 * `heavy` 1.0 (`heavy.NAME` is "heavy-1.0"): 400 modules, so installing and compiling it takes a
 * while and a kill or restart lands inside its build.
 */
export function writeHeavyWheel(dir: string): string {
  const modules: Record<string, string> = {};
  for (let i = 0; i < 400; i++) modules[`heavy/m${i}.py`] = `${Array.from({ length: 40 }, (_, j) => `def f${j}(x):\n    return x + ${j}\n`).join('')}`;
  modules['heavy/__init__.py'] = 'NAME = "heavy-1.0"\n';
  return writeWheel(dir, { name: 'heavy', version: '1.0', modules });
}
