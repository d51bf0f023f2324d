/**
 * The queue payload of an async run: the whole request (method, path, query, headers, body) as
 * JSON, so every attempt — and a replay — runs the same request the client sent.
 */
import type { AsyncCall } from '../../gateway/index.js';

interface Envelope {
  v: 1;
  method: string;
  path: string;
  rawQuery: string;
  headers: [string, string][];
  bodyBase64: string;
}

export function encodeCall(call: AsyncCall): Buffer {
  const envelope: Envelope = {
    v: 1, method: call.method, path: call.path, rawQuery: call.rawQuery,
    headers: call.headers.map(([k, v]) => [k, v]), bodyBase64: Buffer.from(call.body).toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** Throws on a payload that is not an envelope (a job written by something else). */
export function decodeCall(payload: Uint8Array): AsyncCall {
  const e = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<Envelope>;
  if (e.v !== 1 || typeof e.method !== 'string' || typeof e.path !== 'string' || typeof e.rawQuery !== 'string' || !Array.isArray(e.headers) || typeof e.bodyBase64 !== 'string') {
    throw new Error('the queued payload is not an async call envelope');
  }
  return { method: e.method, path: e.path, rawQuery: e.rawQuery, headers: e.headers, body: Buffer.from(e.bodyBase64, 'base64') };
}
