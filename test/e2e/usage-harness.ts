/** Shared by the usage tests: a function that fails on `?fail=1`, calls to it, and waiting for counts. */
import type { Api } from './platform-harness.js';

export const FLAKY = {
  'main.py': 'def handler(event, context):\n    if event["query"].get("fail") == "1":\n        raise ValueError("asked to fail")\n    return {"ok": True}\n',
};

/** Calls `/fn/<name>/` `n` times, one after another; returns the statuses. */
export async function callMany(url: string, name: string, n: number, query = ''): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/fn/${name}/${query}`);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

/** Polls the usage API until `done(body)` (recording is asynchronous), or fails after `timeoutMs`. */
export async function usageWhen(api: Api, name: string, done: (u: any) => boolean, window = '15m', timeoutMs = 15_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/functions/${name}/usage?window=${window}`);
    // 503 METRICS_UNAVAILABLE: Redis is (re)connecting; the fault tests wait it out.
    if (res.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (res.status !== 200) throw new Error(`usage ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    if (done(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`usage of ${name} never matched: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
