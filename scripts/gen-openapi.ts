/**
 * Generates schemas/openapi.json, the OpenAPI 3.1 document of the control plane API, from the route
 * table and its zod schemas (controlplane/api/openapi.ts): the same text `GET /api/v1/openapi.json`
 * serves. A unit test fails when the committed file differs from what this produces.
 *
 *   npx tsc -p . && node dist/scripts/gen-openapi.js        (writes the file)
 *   node dist/scripts/gen-openapi.js --check                 (exit 1 if it is out of date)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openApiText } from '../controlplane/api/openapi.js';
import { ROUTES } from '../controlplane/api/routes.js';

export const OPENAPI_FILE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'schemas', 'openapi.json');

/** The document as it is committed. */
export function generateOpenApi(): string {
  return openApiText(ROUTES);
}

function cli(argv: string[]): number {
  const text = generateOpenApi();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OPENAPI_FILE, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current === text) return 0;
    console.error(`${OPENAPI_FILE} is out of date: run node dist/scripts/gen-openapi.js`);
    return 1;
  }
  writeFileSync(OPENAPI_FILE, text);
  console.log(`wrote ${OPENAPI_FILE}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = cli(process.argv.slice(2));
