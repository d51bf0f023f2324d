/**
 * A stand-in for the platform's API in CLI tests: `handler` answers on 127.0.0.1, and `dir` is a
 * fresh config folder for the CLI (`FP_CONFIG_DIR`, also its working directory). Started in the
 * calling suite's `before`, removed in its `after`; `url` and `dir` are set from then on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { runCli, type CliResult } from './cli-harness.js';

export interface StubApi {
  url: string;
  dir: string;
  /** The CLI against this API with the token `fpa_test`, run in `cwd` (default `dir`). */
  cli(argv: string[], cwd?: string): Promise<CliResult>;
}

export function stubApi(prefix: string, handler: RequestListener): StubApi {
  let server: Server;
  const api: StubApi = {
    url: '',
    dir: '',
    cli: (argv, cwd) => runCli([...argv, '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: cwd ?? api.dir }),
  };
  before(async () => {
    api.dir = mkdtempSync(join(tmpdir(), prefix));
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    api.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(api.dir, { recursive: true, force: true });
  });
  return api;
}

/** Answers as the platform's API does: JSON with the `fp-api` header the CLI checks for. */
export function answerJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'fp-api': '1' });
  res.end(JSON.stringify(body));
}
