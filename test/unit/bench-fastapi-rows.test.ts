/**
 * bench/table.ts, section 6: the throughput target compares the platform with uvicorn at one
 * worker (issue 10's baseline), and uvicorn's best with more workers is a row of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastapiResult } from '../../bench/fastapi.js';
import type { LoadRun } from '../../bench/load.js';
import { buildRows, type Results } from '../../bench/table.js';

function run(label: string, requestsPerSec: number, p50Us = 1000): LoadRun {
  return {
    label, round: 1, problems: [],
    wrk: { requestsPerSec, requests: requestsPerSec * 3, p50Us, p75Us: p50Us, p90Us: p50Us, p99Us: p50Us * 2, avgUs: p50Us, maxUs: p50Us * 3, non2xx: 0, socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 } },
  } as unknown as LoadRun; // only the fields the rows read
}

function results(fastapi: FastapiResult): Results {
  // Only section 6 ran: every other section's result is null.
  return {
    options: { connections: 64 }, throughput: null, latency: null, recording: null, storage: null, fairness: null, sink: null,
    dev: null, deploy: null, fresh: null, limiter: null, cold: { baseline: null, pool: null, gateway: null }, fastapi,
  } as unknown as Results;
}

describe('section 6 rows', () => {
  it('the throughput target is against uvicorn with 1 worker; 2 workers are shown beside it', () => {
    const u1 = run('uvicorn workers=1', 3000);
    const u2 = run('uvicorn workers=2', 5000);
    const g = { ...run('gateway 2x1', 6300), setting: { maxInstances: 2, concurrency: 1 } };
    const rows = buildRows(results({
      stream: { gateway: null, uvicorn: null, gapMs: 200 },
      c1: { gateway: run('gateway 1x1 (c1)', 3000, 300), uvicorn: run('uvicorn workers=1 (c1)', 4000, 220), runs: [] },
      cN: { connections: 64, gateway: g, gatewaySetting: g.setting, uvicorn: u2, runs: [u1, u2, g], failures: [] },
    }));
    const target = rows.find((r) => r.figure === '6. FastAPI app throughput, 64 conns');
    assert.ok(target);
    assert.equal(target.baseline, 3000);
    assert.equal(target.met, true);
    assert.match(target.cells[2] ?? '', /uvicorn 1 worker/);
    const beside = rows.find((r) => r.figure === "6. FastAPI app throughput, 64 conns, vs uvicorn with more workers");
    assert.ok(beside);
    assert.equal(beside.baseline, 5000);
    assert.equal(beside.met, null);
    assert.equal(rows.find((r) => r.figure === '6. FastAPI app p50, 64 conns')?.baseline, 1000);
  });
});
