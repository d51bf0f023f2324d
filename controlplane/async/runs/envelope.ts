/**
 * The queue payload of an async run: the whole request (method, path, query, headers, body), so
 * every attempt — and a replay — runs the same request the client sent. `trigger` says what queued
 * it (`async` when absent; `cron` for a tick, `webhook` for a verified webhook), recorded with each
 * attempt's run. Encoded once, as msgpack with the body as raw bytes (version 2); version 1 (JSON
 * with the body in base64) is still read, for jobs queued by an older platform. `o`: where the
 * request came from (its client and scheme as a trusted proxy said at acceptance), absent in older jobs.
 * `hv`: `"1.0"` for an HTTP/1.0 request (ADR 0260), absent for HTTP/1.1 and in older jobs (read as 1.1).
 */
import { Packr, Unpackr } from 'msgpackr';
import type { AsyncCall, CallOrigin } from '../../../protocol/index.js';

interface EnvelopeV2 {
  v: 2;
  m: string;
  p: string;
  q: string;
  h: [string, string][];
  b: Uint8Array;
  t?: QueuedTrigger;
  /** The call's origin (protocol CallOrigin): client address, port, scheme, prefix. */
  o?: [string, number, string, string];
  /** `"1.0"`: the request was HTTP/1.0; absent: HTTP/1.1. */
  hv?: '1.0';
}

/** What queued a run. */
export type QueuedTrigger = 'async' | 'cron' | 'webhook';

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encodeCall(call: AsyncCall, trigger: QueuedTrigger = 'async'): Buffer {
  const envelope: EnvelopeV2 = {
    v: 2, m: call.method, p: call.path, q: call.rawQuery, h: call.headers, b: call.body,
    ...(trigger !== 'async' ? { t: trigger } : {}),
    ...(call.origin !== undefined ? { o: [call.origin.client[0], call.origin.client[1], call.origin.scheme, call.origin.prefix] } : {}),
    ...(call.httpVersion === '1.0' ? { hv: '1.0' as const } : {}),
  };
  return packr.pack(envelope);
}

/** Throws on a payload that is not an envelope (a job written by something else). */
export function decodeCall(payload: Uint8Array): AsyncCall {
  return decodeEnvelope(payload).call;
}

/** The call and what queued it. */
export function decodeEnvelope(payload: Uint8Array): { call: AsyncCall; trigger: QueuedTrigger } {
  // A version 1 envelope is JSON: its first byte is `{`; a msgpack map never starts with 0x7b.
  if (payload[0] === 0x7b) return decodeV1(payload);
  const e = unpackr.unpack(payload) as Partial<EnvelopeV2>;
  if (e.v !== 2 || typeof e.m !== 'string' || typeof e.p !== 'string' || typeof e.q !== 'string' || !Array.isArray(e.h) || !(e.b instanceof Uint8Array)) {
    throw new Error('the queued payload is not an async call envelope');
  }
  const origin = originOf(e.o);
  const call: AsyncCall = { method: e.m, path: e.p, rawQuery: e.q, headers: e.h, body: e.b, ...(origin !== null ? { origin } : {}) };
  if (e.hv === '1.0') call.httpVersion = '1.0';
  return { call, trigger: triggerOf(e.t) };
}

/** The origin kept in an envelope; null when none (an older platform's job) or not one. */
function originOf(o: unknown): CallOrigin | null {
  if (!Array.isArray(o) || o.length !== 4) return null;
  const [address, port, scheme, prefix] = o as unknown[];
  if (typeof address !== 'string' || typeof port !== 'number' || (scheme !== 'http' && scheme !== 'https') || typeof prefix !== 'string') return null;
  return { client: [address, port], scheme, prefix };
}

interface EnvelopeV1 {
  v: 1;
  method: string;
  path: string;
  rawQuery: string;
  headers: [string, string][];
  bodyBase64: string;
  trigger?: QueuedTrigger;
}

function decodeV1(payload: Uint8Array): { call: AsyncCall; trigger: QueuedTrigger } {
  const e = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<EnvelopeV1>;
  if (e.v !== 1 || typeof e.method !== 'string' || typeof e.path !== 'string' || typeof e.rawQuery !== 'string' || !Array.isArray(e.headers) || typeof e.bodyBase64 !== 'string') {
    throw new Error('the queued payload is not an async call envelope');
  }
  const call = { method: e.method, path: e.path, rawQuery: e.rawQuery, headers: e.headers, body: Buffer.from(e.bodyBase64, 'base64') };
  return { call, trigger: triggerOf(e.trigger) };
}

function triggerOf(value: unknown): QueuedTrigger {
  return value === 'cron' || value === 'webhook' ? value : 'async';
}
