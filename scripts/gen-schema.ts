/**
 * Generates schemas/platform.schema.json, the JSON Schema of platform.yaml for editors, from the
 * one zod schema (protocol/manifest.ts) with zod's own `z.toJSONSchema`. The input side is
 * exported (what people write: `30s`, not milliseconds). A unit test fails when the committed
 * file differs from what this produces.
 *
 *   npx tsc -p . && node dist/scripts/gen-schema.js        (writes the file)
 *   node dist/scripts/gen-schema.js --check                 (exit 1 if it is out of date)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { manifestSchema } from '../protocol/index.js';

export const SCHEMA_FILE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'schemas', 'platform.schema.json');

/**
 * Help text editors show on hover. Documentation only: every rule comes from the zod schema.
 * (Better as `.meta({description})` in protocol/manifest.ts; kept here until that moves.)
 */
const DESCRIPTIONS: Record<string, string> = {
  kind: 'Always `function`.',
  name: 'The function name: a DNS label (a-z, 0-9, -; 1-63; no leading/trailing -). Part of its URL: /fn/<name>/.',
  entrypoint: '`module:attr`: handler(event, context) (sync or async), an ASGI app such as `app:app` or a WSGI app; `module:factory()` calls an app factory once at the instance\'s start (`app:create_app()`).',
  runtime: 'Runtime preset.',
  invocation: 'Which public routes take its calls: both (the default), sync (/fn/ only: HTTP request/response) or async (/async/ only: queued runs). A call on the other route gets 409 INVOCATION_MODE_NOT_ALLOWED; triggers and test invokes through the API are not concerned.',
  triggers: 'Triggers besides HTTP: {type: cron, schedule, id?, timezone?, payload?} (runs on a schedule, seconds field allowed) or {type: webhook, id, style?: github|stripe, sync?, tolerance?} (signed calls at /hooks/<name>/<id>; the secret is kept by the platform).',
  limits: 'Per-function limits, in human units.',
  'limits.timeout': 'Longest a call may run: 500ms, 30s, 2m, 1h.',
  'limits.memory': 'Memory per instance: 128Mi, 1Gi (1024^n) or 512M (1000^n).',
  'limits.concurrency': 'Calls at once per instance.',
  'limits.maxInstances': 'Most instances of this function at once.',
  'limits.minWarm': 'Instances kept warm when idle (0 = scale to zero).',
  'limits.maxQueue': 'Calls that may wait for a free instance before 429 FUNCTION_BUSY.',
  env: 'Environment variables (strings; quote numbers). `${VAR}` and `${VAR:-default}` come from the platform\'s environment; `$$` is a literal $.',
  version: 'An optional label for this version of the code.',
};

type JsonObject = { [key: string]: unknown };

function describe(node: JsonObject, path: string): void {
  const properties = node.properties as Record<string, JsonObject> | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    const text = DESCRIPTIONS[at];
    if (text !== undefined) properties![key] = { description: text, ...child };
    describe(properties![key]!, at);
  }
}

/** The schema document as it is committed (stable key order, trailing newline). */
export function generatePlatformSchema(): string {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12' }) as JsonObject;
  describe(schema, '');
  const { $schema, ...rest } = schema;
  const doc = {
    $schema,
    title: 'fastapi-platform function manifest (platform.yaml)',
    description: 'Generated from protocol/manifest.ts by scripts/gen-schema.ts; do not edit by hand.',
    ...rest,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function cli(argv: string[]): number {
  const text = generatePlatformSchema();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(SCHEMA_FILE, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current === text) return 0;
    console.error(`${SCHEMA_FILE} is out of date: run node dist/scripts/gen-schema.js`);
    return 1;
  }
  writeFileSync(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = cli(process.argv.slice(2));
