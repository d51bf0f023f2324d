/**
 * A function's `Basic` challenges on the platform host's shared origin (the path form `/fn/<key>/`,
 * a `sync` webhook's answer at `/hooks/<key>/<id>`): their realm is made the function's own.
 *
 * A browser keeps the Basic credentials a visitor typed per origin and realm (RFC 7617 §2.2, the
 * protection space), and answers a later `401` challenge with the same realm from that cache,
 * unasked. FastAPI's `HTTPBasic()` sends `WWW-Authenticate: Basic` with no realm, so every such
 * app shares the one empty realm: another tenant's function answering `401` with `Basic` got the
 * visitor's username and password for the first one sent back in Chromium (apps round 24). Here a
 * Basic challenge's realm starts with the function's prefix (`Basic realm="/fn/<key>/"`, or
 * `"/fn/<key>/ <its realm>"`), which no other function's answer can start with.
 *
 * At the bare name (`/fn/<key>`, no last slash, a `fetch`'s URL: a browser's page load is redirected
 * to the slash) the challenge is dropped instead: a browser files the credentials it answered a
 * challenge with under the directory of the URL that asked, `/fn/` there, and from then on sends
 * them unasked to every URL under it, every other function's (red team round 41, ADR 0221). A
 * `Digest` challenge is dropped there too: Chromium keeps and sends its credentials the same way.
 */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const PARAM = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(.*)$/s;
/** The schemes a browser answers from the credentials it keeps: both dropped at the bare name. */
const KEPT_SCHEMES = /basic|digest/i;
/** The header whose Basic challenges are scoped (gateway/responses.ts, dropOriginWide). */
export const AUTHENTICATE = 'www-authenticate';

/** The list's elements, split at the commas outside quoted strings; null when a quote is left open. */
function elements(value: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (quoted) return null;
  out.push(value.slice(start).trim());
  return out.filter((e) => e !== '');
}

/** A parameter's value: a quoted string unescaped, or a token as written; null when it is neither. */
function paramValue(text: string): string | null {
  if (!text.startsWith('"')) return TOKEN.exec(text)?.[0] === text ? text : null;
  if (text.length < 2 || !text.endsWith('"')) return null;
  return text.slice(1, -1).replace(/\\(.)/gs, '$1');
}

/**
 * `value` (one `WWW-Authenticate` header) with each Basic challenge's realm starting with
 * `scope`, or (scope null: the bare name) without its Basic and Digest challenges; the value as
 * it is when it has none; null (drop it) when it names `basic` but cannot be read as
 * challenges, since a browser may read one there all the same, or when nothing is left of it.
 */
export function scopeBasicRealm(value: string, scope: string | null): string | null {
  if (!(scope === null ? KEPT_SCHEMES : /basic/i).test(value)) return value;
  const items = elements(value);
  if (items === null) return null;
  const challenges: { scheme: string; params: string[] }[] = [];
  for (const item of items) {
    const scheme = TOKEN.exec(item)?.[0];
    const rest = scheme === undefined ? '' : item.slice(scheme.length);
    if (scheme !== undefined && (rest === '' || (/^[ \t]/.test(rest) && !rest.trimStart().startsWith('=')))) {
      challenges.push({ scheme, params: rest === '' ? [] : [rest.trim()] });
    } else if (challenges.length > 0) {
      challenges[challenges.length - 1]!.params.push(item);
    } else {
      return null;
    }
  }
  let changed = false;
  const out: string[] = [];
  for (const { scheme, params } of challenges) {
    const name = scheme.toLowerCase();
    if (name !== 'basic' && !(scope === null && name === 'digest')) {
      out.push(params.length === 0 ? scheme : `${scheme} ${params.join(', ')}`);
      continue;
    }
    changed = true;
    if (scope === null) continue;
    let realm = '';
    const kept: string[] = [];
    for (const param of params) {
      const m = PARAM.exec(param);
      const v = m === null ? null : paramValue(m[2]!);
      if (m === null || v === null) return null;
      if (m[1]!.toLowerCase() === 'realm') realm = v;
      else kept.push(param);
    }
    const scoped = realm === '' ? scope : `${scope} ${realm}`;
    out.push([`${scheme} realm="${scoped.replace(/["\\]/g, '\\$&')}"`, ...kept].join(', '));
  }
  if (!changed) return value;
  return out.length === 0 ? null : out.join(', ');
}
