/**
 * What masking a function's secrets costs per log line (ADR 0269, ADR 0258): `LogBudget.take` over
 * batches of a realistic log (access lines, JSON records, a traceback, a debug line with a header)
 * of a function with 12 secrets, none printed, and with 1024 secrets (the most it may hold) sharing
 * a prefix with what it prints. `--against` measures another built checkout's modules in the same
 * process, in alternating rounds.
 *
 *   npx tsc -p . && node dist/bench/secret-mask.js [--lines 200000] [--rounds 5] [--against OTHER_CHECKOUT]
 *
 * The figures are medians of the rounds, in lines per second.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './paths.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

interface Build {
  name: string;
  secretMask: (secrets: Record<string, string>) => unknown;
  LogBudget: new (limit: number, since: number, mask: unknown) => { take(raw: unknown): unknown[] };
}

async function load(root: string, name: string): Promise<Build> {
  const mod = await import(pathToFileURL(join(root, 'dist', 'protocol', 'index.js')).href) as Omit<Build, 'name'>;
  return { name, secretMask: mod.secretMask, LogBudget: mod.LogBudget };
}

const SAMPLE = [
  'INFO:     127.0.0.1:52114 - "GET /items/42?include=owner HTTP/1.1" 200 OK',
  '{"level": "info", "msg": "order created", "order_id": "ord_7f3a9c", "amount": 1299, "currency": "EUR", "ms": 12.4}',
  'DEBUG:urllib3.connectionpool:https://api.example.com:443 "POST /v1/charges HTTP/1.1" 201 734',
  'send: b\'POST /v1/charges HTTP/1.1\\r\\nHost: api.example.com\\r\\nAuthorization: Bearer <redacted>\\r\\n\'',
  'Traceback (most recent call last):',
  '  File "/code/main.py", line 31, in handler',
  '    row = db.fetch_one("SELECT * FROM users WHERE id = %s", (user_id,))',
  'psycopg.OperationalError: connection to server at "10.0.3.7", port 5432 failed: timeout expired',
  'cache miss for key user:1832:profile, fetching from upstream (attempt 2 of 3)',
  'processed 250 events in 0.83 s (301.2/s), 0 failed, queue depth 17',
];

function secrets(many: boolean): Record<string, string> {
  if (many) return Object.fromEntries(Array.from({ length: 1024 }, (_, i) => [`S${i}`, `INFO:     127.0.0.1:${String(i).padStart(5, '0')}`]));
  return {
    DATABASE_URL: 'postgres://app:Xk29fjQmW8s@db.internal:5432/orders',
    STRIPE_KEY: 'sk_live_51HdY8cLkQ2u9ZrT0aVb3nM',
    JWT_SECRET: 'c2f1e7b8a94d4e0f9a1b6c3d2e5f7a8b',
    SENTRY_DSN: 'https://4f1c2b9e8d7a@o12345.ingest.sentry.io/678',
    REDIS_URL: 'redis://:p4ssw0rd-redis@cache:6379/0',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    SMTP_PASSWORD: 'mail-Pa55word!',
    WEBHOOK_SECRET: 'whsec_9f8e7d6c5b4a3f2e1d0c',
    GITHUB_TOKEN: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
    OPENAI_API_KEY: 'sk-proj-Abc123Def456Ghi789Jkl012Mno345',
    ADMIN_PIN: '4821',
    FEATURE_FLAG: 'true',
  };
}

function rate(build: Build, many: boolean, lines: number): number {
  const mask = build.secretMask(secrets(many));
  const batch = Array.from({ length: 20 }, (_, i) => ({ stream: 'stdout', ts: 0, msg: SAMPLE[i % SAMPLE.length] }));
  const started = performance.now();
  for (let done = 0; done < lines; done += batch.length) {
    // A budget per batch: the call's own limit is never reached here.
    new build.LogBudget(Number.MAX_SAFE_INTEGER, -Infinity, mask).take(batch.map((line) => ({ ...line })));
  }
  return lines / ((performance.now() - started) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const lines = Number(arg('lines', '200000'));
const rounds = Number(arg('rounds', '5'));
const against = arg('against', '');
const builds = [await load(ROOT, 'this')];
if (against !== '') builds.push(await load(against, against));
for (const many of [false, true]) {
  const samples = new Map<string, number[]>(builds.map((b) => [b.name, []]));
  for (let round = 0; round < rounds; round++) for (const build of builds) samples.get(build.name)!.push(rate(build, many, lines));
  for (const build of builds) {
    console.log(`${many ? '1024 secrets sharing a prefix' : '12 secrets'}\t${build.name}\t${Math.round(median(samples.get(build.name)!))} lines/s`);
  }
}
