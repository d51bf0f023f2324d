/**
 * What a new function starts with: the `fastapi-platform init` templates themselves (templates/,
 * bundled as text at build), so the console and the CLI scaffold the same code.
 */
import cronMain from '../../templates/cron/main.py';
import cronPayload from '../../templates/cron/payload.json?text';
import cronYaml from '../../templates/cron/platform.yaml';
import fastapiApp from '../../templates/fastapi/app.py';
import fastapiPayload from '../../templates/fastapi/payload.json?text';
import fastapiYaml from '../../templates/fastapi/platform.yaml';
import httpMain from '../../templates/http/main.py';
import httpPayload from '../../templates/http/payload.json?text';
import httpYaml from '../../templates/http/platform.yaml';
import mongoMain from '../../templates/mongo/main.py';
import mongoPayload from '../../templates/mongo/payload.json?text';
import webhookMain from '../../templates/webhook/main.py';
import webhookPayload from '../../templates/webhook/payload.json?text';
import webhookYaml from '../../templates/webhook/platform.yaml';
import workerMain from '../../templates/worker/main.py';
import workerPayload from '../../templates/worker/payload.json?text';
import workerYaml from '../../templates/worker/platform.yaml';

/** A runtime preset of the API (protocol/manifest.ts RUNTIME_PRESETS). */
export type Preset = 'http' | 'webhook' | 'cron' | 'worker';
/** What a new function starts from: a preset's template, or a FastAPI app (on the http preset). */
export type Template = Preset | 'fastapi';
export type Invocation = 'sync' | 'async' | 'both';

const TEMPLATES: Record<Template, { code: string; file: string; yaml: string; payload: string }> = {
  http: { code: httpMain, file: 'main.py', yaml: httpYaml, payload: httpPayload },
  fastapi: { code: fastapiApp, file: 'app.py', yaml: fastapiYaml, payload: fastapiPayload },
  webhook: { code: webhookMain, file: 'main.py', yaml: webhookYaml, payload: webhookPayload },
  cron: { code: cronMain, file: 'main.py', yaml: cronYaml, payload: cronPayload },
  worker: { code: workerMain, file: 'main.py', yaml: workerYaml, payload: workerPayload },
};

/** The API preset a template's function is created with. */
export function presetOf(template: Template): Preset {
  return template === 'fastapi' ? 'http' : template;
}

/** A database name of a binding (protocol/manifest.ts, `data.mongo.database`). */
export const DATABASE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The files of a new function: its code (main.py, or app.py for a FastAPI app), platform.yaml (with its invocation mode, and its data
 * binding when `database` names one: docs/data-binding.md) and a sample payload.
 */
export function scaffold(name: string, template: Template, invocation: Invocation, database?: string): { path: string; content: string }[] {
  // An HTTP function with a database starts from `init --template mongo`'s code, which uses
  // context.db (the http template's ignores it: the binding chosen showed nowhere in the code).
  const t = template === 'http' && database !== undefined ? { ...TEMPLATES.http, code: mongoMain, payload: mongoPayload } : TEMPLATES[template];
  const fill = (text: string): string => text.replaceAll('{{name}}', name);
  let yaml = fill(t.yaml).replace(/^invocation:\s*\w+/m, `invocation: ${invocation}`);
  if (database !== undefined) yaml = `${yaml.trimEnd()}\n# A database of this function's workspace, as context.db (docs/data-binding.md).\ndata:\n  mongo:\n    database: ${database}\n`;
  return [
    { path: t.file, content: fill(t.code) },
    { path: 'payload.json', content: fill(t.payload) },
    { path: 'platform.yaml', content: /^invocation:/m.test(yaml) ? yaml : `${yaml.trimEnd()}\ninvocation: ${invocation}\n` },
  ];
}

/** The limits a template's platform.yaml sets (the keys it has). */
export interface TemplateLimits {
  timeout?: string;
  memory?: string;
  concurrency?: number;
  maxInstances?: number;
}

/**
 * The `limits:` of a template's platform.yaml, for the function's create: it then has from the
 * start the limits its first deploy gives it. Before, the console created it with the platform's
 * defaults (30s, 256Mi) and the deploy of the http draft changed them to 10s and 128Mi, so the
 * page and the contract card promised limits the function did not keep (new-user round).
 */
export function templateLimits(template: Template): TemplateLimits {
  const block = /^limits:[ \t]*(?:#.*)?\n((?:[ \t]+.*(?:\n|$))*)/m.exec(TEMPLATES[template].yaml)?.[1] ?? '';
  const out: TemplateLimits = {};
  for (const line of block.split('\n')) {
    const m = /^[ \t]+(timeout|memory|concurrency|maxInstances):[ \t]*([^\s#]+)/.exec(line);
    if (m === null) continue;
    if (m[1] === 'timeout' || m[1] === 'memory') out[m[1]] = m[2]!;
    else out[m[1] as 'concurrency' | 'maxInstances'] = Number(m[2]);
  }
  return out;
}

/** The sample request body of a scaffold (for the Invoke tab's first payload). */
export function samplePayload(template: Template): string {
  return TEMPLATES[template].payload;
}
