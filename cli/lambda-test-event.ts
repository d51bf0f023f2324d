/**
 * A request body that is an API Gateway test event (SAM's `events/event.json`, the Lambda console's
 * "apigateway-aws-proxy" template), as a Lambda user hands it to `invoke --file` out of habit
 * (`sam local invoke -e event.json`). invoke sends it as it is, the whole event as the request's
 * body, and the handler read `event["body"]` as that JSON of the event without a word (new-user
 * round 12). This module says so, with the call the event stands for.
 */
import { shellWord } from './self-command.js';

/** The call an API Gateway event (REST 1.0 or HTTP API 2.0) stands for, or null when `body` is not one. */
export function apiGatewayCall(body: Buffer): { method: string; path: string; contentType: string | null; body: string | null; base64: boolean } | null {
  if (body.length > 1024 * 1024 || !/^\s*\{/.test(body.toString('utf8', 0, 64))) return null;
  let doc: unknown;
  try { doc = JSON.parse(body.toString('utf8')); } catch { return null; }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const e = doc as Record<string, unknown>;
  const http = typeof e['requestContext'] === 'object' && e['requestContext'] !== null ? (e['requestContext'] as Record<string, unknown>)['http'] : undefined;
  const v2Method = typeof http === 'object' && http !== null ? (http as Record<string, unknown>)['method'] : undefined;
  let method: string;
  let path: string;
  if (typeof e['httpMethod'] === 'string' && typeof e['path'] === 'string') {
    method = e['httpMethod'];
    path = e['path'];
    const multi = e['multiValueQueryStringParameters'];
    const single = e['queryStringParameters'];
    const query = new URLSearchParams();
    if (typeof multi === 'object' && multi !== null) {
      for (const [k, vs] of Object.entries(multi)) if (Array.isArray(vs)) for (const v of vs) query.append(k, String(v));
    } else if (typeof single === 'object' && single !== null) {
      for (const [k, v] of Object.entries(single)) query.append(k, String(v));
    }
    if ([...query.keys()].length > 0) path += `?${query.toString()}`;
  } else if (typeof e['rawPath'] === 'string' && typeof v2Method === 'string') {
    method = v2Method;
    path = e['rawPath'] + (typeof e['rawQueryString'] === 'string' && e['rawQueryString'] !== '' ? `?${e['rawQueryString']}` : '');
  } else {
    return null;
  }
  const headers = typeof e['headers'] === 'object' && e['headers'] !== null ? (e['headers'] as Record<string, unknown>) : {};
  const typeKey = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type');
  const contentType = typeKey !== undefined && typeof headers[typeKey] === 'string' ? (headers[typeKey] as string) : null;
  return { method: method.toUpperCase(), path: path.startsWith('/') ? path : `/${path}`, contentType, body: typeof e['body'] === 'string' ? e['body'] : null, base64: e['isBase64Encoded'] === true };
}

/** The note for such a body: what invoke does with it, and the invoke that makes the event's call. */
export function apiGatewayEventNote(body: Buffer, from: string, name: string): string | null {
  const call = apiGatewayCall(body);
  if (call === null) return null;
  const words = ['fastapi-platform', 'invoke', shellWord(name), '-X', call.method, '--path', shellWord(call.path)];
  if (call.contentType !== null && call.body !== null) words.push('-H', shellWord(`Content-Type: ${call.contentType}`));
  let tail = '';
  if (call.body !== null && call.body !== '') {
    if (call.base64) tail = ' --file <its body, base64-decoded>';
    else if (call.body.length <= 200 && !/[\r\n]/.test(call.body)) words.push('-d', shellWord(call.body));
    else tail = ' --file <a file of its body>';
  }
  return `note: ${from} is an API Gateway test event (as \`sam local invoke -e\` takes it); invoke sends it whole as the request's body, so the handler's event["body"] is this JSON. The call it stands for: ${words.join(' ')}${tail} (the platform builds the event from the request; docs/migrating.md, "AWS Lambda")`;
}
