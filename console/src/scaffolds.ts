/**
 * What a new function starts with: the `fastapi-platform init` templates themselves (templates/,
 * bundled as text at build), so the console and the CLI scaffold the same code.
 */
import cronMain from '../../templates/cron/main.py';
import cronPayload from '../../templates/cron/payload.json?text';
import cronYaml from '../../templates/cron/platform.yaml';
import httpMain from '../../templates/http/main.py';
import httpPayload from '../../templates/http/payload.json?text';
import httpYaml from '../../templates/http/platform.yaml';
import webhookMain from '../../templates/webhook/main.py';
import webhookPayload from '../../templates/webhook/payload.json?text';
import webhookYaml from '../../templates/webhook/platform.yaml';
import workerMain from '../../templates/worker/main.py';
import workerPayload from '../../templates/worker/payload.json?text';
import workerYaml from '../../templates/worker/platform.yaml';

export type Preset = 'http' | 'webhook' | 'cron' | 'worker';
export type Invocation = 'sync' | 'async' | 'both';

const TEMPLATES: Record<Preset, { main: string; yaml: string; payload: string }> = {
  http: { main: httpMain, yaml: httpYaml, payload: httpPayload },
  webhook: { main: webhookMain, yaml: webhookYaml, payload: webhookPayload },
  cron: { main: cronMain, yaml: cronYaml, payload: cronPayload },
  worker: { main: workerMain, yaml: workerYaml, payload: workerPayload },
};

/** A database name of a binding (protocol/manifest.ts, `data.mongo.database`). */
export const DATABASE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The files of a new function: main.py, platform.yaml (with its invocation mode, and its data
 * binding when `database` names one: docs/data-binding.md) and a sample payload.
 */
export function scaffold(name: string, preset: Preset, invocation: Invocation, database?: string): { path: string; content: string }[] {
  const t = TEMPLATES[preset];
  const fill = (text: string): string => text.replaceAll('{{name}}', name);
  let yaml = fill(t.yaml).replace(/^invocation:\s*\w+/m, `invocation: ${invocation}`);
  if (database !== undefined) yaml = `${yaml.trimEnd()}\n# A database of this function's workspace, as context.db (docs/data-binding.md).\ndata:\n  mongo:\n    database: ${database}\n`;
  return [
    { path: 'main.py', content: fill(t.main) },
    { path: 'payload.json', content: fill(t.payload) },
    { path: 'platform.yaml', content: /^invocation:/m.test(yaml) ? yaml : `${yaml.trimEnd()}\ninvocation: ${invocation}\n` },
  ];
}

/** The sample request body of a scaffold (for the Invoke tab's first payload). */
export function samplePayload(preset: Preset): string {
  return TEMPLATES[preset].payload;
}
