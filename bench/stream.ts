/**
 * Large responses, platform against uvicorn (bench/README.md "Large streamed responses"): the same
 * FastAPI app (bench/fixtures/bigbody/app.py) served by each checkout's gateway as a function and
 * by uvicorn (uvloop, httptools, 1 worker), then, round after round, in turn (the order reversed
 * every other round, so the machine's load lands on all alike):
 * - `stream`: a StreamingResponse of `--mb` MiB in 1 MiB chunks;
 * - `bytes`: a Response of `--whole-mb` MiB sent whole (FastAPI's one `http.response.body`);
 * - `file`: a FileResponse of a `--whole-mb` MiB file.
 * Each request is one `curl -o /dev/null` (its own timer: no process start counted). Printed: the
 * median MB/s of each, and the CPU each MiB cost the server (/proc, utime + stime): the gateway
 * process (the platform's Node process) and its runtimes, or uvicorn's one process.
 * Not a section of run.js: run by hand,
 *   node dist/bench/stream.js [name=<checkout>,…] [--rounds 5] [--mb 100] [--whole-mb 50] [--kinds stream,bytes,file]
 * e.g. `node dist/bench/stream.js main=/tmp/main-copy,branch=. --rounds 7` (default: this checkout).
 * A load of seconds: keep `--rounds × --mb` modest on a shared machine.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './paths.js';
import { descendants, processCpuUs } from './proc-cpu.js';
import { median } from './stats.js';
import { startPlatform, startUvicorn, type Side } from './stream-sides.js';

const MIB = 1024 * 1024;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '5' },
    mb: { type: 'string', default: '100' },
    'whole-mb': { type: 'string', default: '50' },
    kinds: { type: 'string', default: 'stream,bytes,file' },
  },
});
const rounds = Number(values.rounds);
const kinds = values.kinds.split(',').filter(Boolean);
const sizeMb = (kind: string): number => Number(kind === 'stream' ? values.mb : values['whole-mb']);
const builds = (positionals[0] ?? `platform=${ROOT}`).split(',').filter(Boolean).map((kv) => {
  const at = kv.indexOf('=');
  return { name: kv.slice(0, at), root: resolve(kv.slice(at + 1)) };
});

/** One request with curl: seconds (curl's own timer) and the bytes it received. */
function fetchOnce(url: string): Promise<{ seconds: number; bytes: number; status: number }> {
  return new Promise((done, fail) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download} %{http_code}', url], (err, stdout) => {
      if (err !== null) return fail(err);
      const [seconds, bytes, status] = stdout.trim().split(' ').map(Number) as [number, number, number];
      done({ seconds, bytes, status });
    });
  });
}

interface Sample { mbPerS: number; serverMsPerMib: number; runtimeMsPerMib: number }

async function once(side: Side, kind: string): Promise<Sample> {
  const mb = sizeMb(kind);
  const url = `http://127.0.0.1:${side.server.port}${side.prefix}/${kind}?mb=${mb}`;
  const pids = descendants(side.server.pid);
  const cpu = (): [number, number] => [processCpuUs(side.server.pid), pids.reduce((sum, p) => sum + processCpuUs(p), 0)];
  const [server0, runtimes0] = cpu();
  const got = await fetchOnce(url);
  const [server1, runtimes1] = cpu();
  if (got.status !== 200 || got.bytes !== mb * MIB) throw new Error(`${side.name} ${kind}: ${got.status}, ${got.bytes} bytes`);
  return { mbPerS: got.bytes / 1e6 / got.seconds, serverMsPerMib: (server1 - server0) / 1000 / mb, runtimeMsPerMib: (runtimes1 - runtimes0) / 1000 / mb };
}

const sides: Side[] = [];
try {
  for (const b of builds) sides.push(await startPlatform(b.name, b.root));
  sides.push(await startUvicorn());
  const samples = new Map<string, Sample[]>();
  for (const side of sides) for (const kind of kinds) await once(side, kind); // warm: the function's instance, the file
  for (let round = 1; round <= rounds; round++) {
    for (const kind of kinds) {
      for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
        const s = await once(side, kind);
        const key = `${kind} ${side.name}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        console.error(`round ${round} ${key.padEnd(20)} ${s.mbPerS.toFixed(0).padStart(5)} MB/s, server ${s.serverMsPerMib.toFixed(2)} ms/MiB, runtimes ${s.runtimeMsPerMib.toFixed(2)} ms/MiB, load ${loadavg()[0]!.toFixed(1)}`);
      }
    }
  }
  console.log(`\nmedians of ${rounds} rounds (stream ${values.mb} MiB in 1 MiB chunks; bytes and file ${values['whole-mb']} MiB):`);
  console.log('| response | server | MB/s | server CPU ms/MiB | its runtimes ms/MiB |');
  console.log('|---|---|---|---|---|');
  for (const kind of kinds) {
    for (const side of sides) {
      const list = samples.get(`${kind} ${side.name}`) ?? [];
      const m = (f: (s: Sample) => number): number => median(list.map(f));
      const runtimes = side.name === 'uvicorn' ? '—' : m((s) => s.runtimeMsPerMib).toFixed(2);
      console.log(`| ${kind} | ${side.name} | ${m((s) => s.mbPerS).toFixed(0)} | ${m((s) => s.serverMsPerMib).toFixed(2)} | ${runtimes} |`);
    }
  }
} finally {
  for (const side of sides) await side.server.stop();
}
