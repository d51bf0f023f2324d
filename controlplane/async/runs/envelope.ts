/**
 * The queue payload of an async run: the whole request (method, path, query, headers, body) as
 * JSON, so every attempt — and a replay — runs the same request the client sent. `trigger` says
 * what queued it (`async` when absent; `cron` for a tick, `webhook` for a verified webhook), recorded with each attempt's run.
 */
import type { AsyncCall } from '../../../protocol/index.js';

interface Envelope {
  v: 1;
  method: string;
  path: string;
  rawQuery: string;
  headers: [string, string][];
  bodyBase64: string;
  trigger?: QueuedTrigger;
}

/** What queued a run. */
export type QueuedTrigger = 'async' | 'cron' | 'webhook';

export function encodeCall(call: AsyncCall, trigger: QueuedTrigger = 'async'): Buffer {
  const envelope: Envelope = {
    v: 1, method: call.method, path: call.path, rawQuery: call.rawQuery,
    headers: call.headers.map(([k, v]) => [k, v]), bodyBase64: Buffer.from(call.body).toString('base64'),
    ...(trigger !== 'async' ? { trigger } : {}),
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** Throws on a payload that is not an envelope (a job written by something else). */
export function decodeCall(payload: Uint8Array): AsyncCall {
  return decodeEnvelope(payload).call;
}

/** The call and what queued it. */
export function decodeEnvelope(payload: Uint8Array): { call: AsyncCall; trigger: QueuedTrigger } {
  const e = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<Envelope>;
  if (e.v !== 1 || typeof e.method !== 'string' || typeof e.path !== 'string' || typeof e.rawQuery !== 'string' || !Array.isArray(e.headers) || typeof e.bodyBase64 !== 'string') {
    throw new Error('the queued payload is not an async call envelope');
  }
  const call = { method: e.method, path: e.path, rawQuery: e.rawQuery, headers: e.headers, body: Buffer.from(e.bodyBase64, 'base64') };
  return { call, trigger: e.trigger === 'cron' || e.trigger === 'webhook' ? e.trigger : 'async' };
}
