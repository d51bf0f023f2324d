/**
 * Who is on the other end of a request: the peer's address as uWS gives it (raw bytes), and what
 * trusted proxies in front say about the original client (RFC 7239 `Forwarded`, or the
 * `X-Forwarded-For` / `-Proto` / `-Host` family). Pure functions: the adapter copies the bytes
 * out, the config (platform/config.ts, `FP_TRUSTED_PROXIES`) says whom to believe.
 *
 * Forwarded headers are applied only when the peer is a trusted proxy; the chain is walked from
 * the right (the hop nearest to the gateway) past every trusted address, so a client cannot
 * choose its own address by sending a header its proxy merely appends to. docs/gateway.md,
 * "Proxy headers"; docs/adr/0020-addressing.md.
 */
import { BlockList, isIP } from 'node:net';
import type { Pairs } from '../protocol/index.js';

/**
 * The last IPv4 address formatted (its four bytes as one number) and its text: a request's peer is
 * formatted on every request, most come from the same few peers (a proxy, a load balancer, a
 * benchmark), and a Uint8Array's `join` cost ~90 ns where the comparison costs ~15 (issue 11).
 */
let lastV4 = -1;
let lastV4Text = '';

function formatV4(raw: Uint8Array, at: number): string {
  const a = raw[at]!;
  const b = raw[at + 1]!;
  const c = raw[at + 2]!;
  const d = raw[at + 3]!;
  const key = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  if (key !== lastV4) {
    lastV4Text = `${a}.${b}.${c}.${d}`;
    lastV4 = key;
  }
  return lastV4Text;
}

/** The peer's address as text: dotted IPv4 (also for IPv4-mapped IPv6), else compressed IPv6. */
export function formatAddress(raw: Uint8Array): string {
  if (raw.length === 4) return formatV4(raw, 0);
  if (raw.length !== 16) return '';
  const mapped = raw.subarray(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff;
  if (mapped) return formatV4(raw, 12);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((raw[i]! << 8) | raw[i + 1]!);
  // The longest run of two or more zero words becomes `::` (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const MAX_SEEN = 4096;

/** The addresses whose forwarded headers are believed: IPs and CIDR ranges, IPv4 and IPv6. */
export class TrustedProxies {
  private readonly list = new BlockList();
  /** Verdicts by address: BlockList.check crosses into C++ (about 1 µs); peers repeat. Bounded. */
  private readonly seen = new Map<string, boolean>();
  readonly empty: boolean;

  /** Entries such as `127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`; throws on anything else. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = '', bits, ...rest] = entry.split('/');
      const family = isIP(address);
      if (family === 0 || rest.length > 0) throw new Error(`not an IP address or CIDR range: ${entry}`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) {
        this.list.addAddress(address, type);
        continue;
      }
      const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
      if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`not a CIDR prefix length: ${entry}`);
      this.list.addSubnet(address, prefix, type);
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const known = this.seen.get(address);
    if (known !== undefined) return known;
    const family = isIP(address);
    const verdict = family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    this.seen.set(address, verdict);
    return verdict;
  }
}

/** What the function is told about the request's origin. */
export interface ClientView {
  scheme: 'http' | 'https';
  /** The client's address and port (0 when unknown: a forwarded address has no port; this uWS build does not give the peer's). */
  client: [string, number];
  /** The host the client asked for, when a trusted proxy says so (replaces the Host header the function sees). */
  host: string | null;
  /** The path prefix a trusted proxy stripped (`X-Forwarded-Prefix: /api/v1`), `` when none: it goes before root_path. */
  prefix: string;
  /** The peer is a trusted proxy: its forwarding headers were applied (and are consumed: `withoutForwarding`). */
  trusted: boolean;
}

/** The headers a trusted proxy's forwarding is read from; consumed once applied. */
const FORWARDING = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix']);

/**
 * The request's headers without the forwarding headers a trusted proxy sent: what they say is in
 * the scope now (client, scheme, Host, root_path), so the app sees the request as the client sent
 * it to the proxy. An app that reads `X-Forwarded-For` itself falls back to `request.client`, which
 * holds the same address. From an untrusted peer nothing is removed (as uvicorn).
 */
export function withoutForwarding(headers: Pairs): Pairs {
  // Also their spellings with `_` (`x_forwarded_for`): Django's ASGI request and every WSGI bridge
  // read a header as HTTP_<NAME> with `-` turned into `_`, so to them the client's look-alike
  // would be the only X-Forwarded-For left once the proxy's is consumed (docs/adr/0039-underscore-forwarding.md).
  return headers.filter(([name]) => !FORWARDING.has(name) && !(name.includes('_') && FORWARDING.has(name.replaceAll('_', '-'))));
}

/** One hop of a forwarding chain, as a proxy wrote it. */
interface Hop {
  for: string | null;
  proto: string | null;
  host: string | null;
}

/**
 * The client as the function should see it. Without a trusted peer, the peer itself over http
 * (forwarded headers are ignored, and left as they are for the app to see, as uvicorn does).
 */
export function clientView(peer: string, headers: Pairs, trusted: TrustedProxies, peerPort = 0): ClientView {
  const direct: ClientView = { scheme: 'http', client: [peer, peerPort], host: null, prefix: '', trusted: false };
  if (!trusted.has(peer)) return direct;
  const hops = forwardedHops(headers);
  const prefix = forwardedPrefix(headers);
  if (hops.length === 0) return { ...direct, prefix, trusted: true };
  // From the nearest hop outwards: the first address that is not a trusted proxy is the client.
  let index = hops.length - 1;
  while (index > 0 && hops[index]!.for !== null && trusted.has(hops[index]!.for!)) index--;
  const hop = hops[index]!;
  const proto = hop.proto?.toLowerCase();
  return {
    scheme: proto === 'https' ? 'https' : proto === 'http' ? 'http' : direct.scheme,
    client: hop.for !== null ? [hop.for, 0] : direct.client,
    host: hop.host,
    prefix,
    trusted: true,
  };
}

/**
 * `X-Forwarded-Prefix` (Traefik, nginx ingress, Spring): the path a proxy in front serves the app
 * under and strips before forwarding; the app's root_path starts with it, so its URLs carry it.
 * Only one header, only a plain absolute path (segments of URL path characters, no `..`); else ``.
 */
function forwardedPrefix(headers: Pairs): string {
  const list = values(headers, 'x-forwarded-prefix');
  if (list.length !== 1) return '';
  const prefix = list[0]!.trim().replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) return '';
  return prefix;
}

/** The hops of `Forwarded` when present, else of the X-Forwarded-* headers. */
function forwardedHops(headers: Pairs): Hop[] {
  const forwarded = values(headers, 'forwarded');
  if (forwarded.length > 0) return forwarded.flatMap(parseForwarded);
  const fors = values(headers, 'x-forwarded-for').flatMap(splitComma).map(cleanAddress);
  const protos = values(headers, 'x-forwarded-proto').flatMap(splitComma);
  const hosts = values(headers, 'x-forwarded-host').flatMap(splitComma);
  if (fors.length === 0 && protos.length === 0 && hosts.length === 0) return [];
  const hops: Hop[] = fors.length > 0 ? fors.map((f) => ({ for: f, proto: null, host: null })) : [{ for: null, proto: null, host: null }];
  // Proto and host lists that a chain of proxies appended to line up with the `for` list from the right.
  alignRight(hops, protos, (hop, v) => (hop.proto = v));
  alignRight(hops, hosts, (hop, v) => (hop.host = validHost(v)));
  // A single proto/host goes with every hop (the usual setup: one proxy that sets, not appends, them).
  for (const hop of hops) {
    if (protos.length === 1) hop.proto = protos[0]!;
    if (hosts.length === 1) hop.host = validHost(hosts[0]!);
  }
  return hops;
}

function alignRight(hops: Hop[], list: string[], set: (hop: Hop, value: string) => void): void {
  if (list.length <= 1) return;
  for (let i = 1; i <= Math.min(hops.length, list.length); i++) set(hops[hops.length - i]!, list[list.length - i]!);
}

function values(headers: Pairs, name: string): string[] {
  const out: string[] = [];
  for (const [key, value] of headers) if (key === name) out.push(value);
  return out;
}

function splitComma(value: string): string[] {
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** RFC 7239 elements: `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`. */
function parseForwarded(value: string): Hop[] {
  const hops: Hop[] = [];
  for (const element of value.split(',')) {
    const hop: Hop = { for: null, proto: null, host: null };
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let v = pair.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      if (key === 'for') hop.for = cleanAddress(v);
      else if (key === 'proto') hop.proto = v;
      else if (key === 'host') hop.host = validHost(v);
    }
    hops.push(hop);
  }
  return hops;
}

/** `[2001:db8::1]:4711` → `2001:db8::1`; `192.0.2.1:80` → `192.0.2.1`; obfuscated names or `unknown` kept as they are. */
function cleanAddress(value: string): string {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);
  if (v4port) return v4port[1]!;
  return value;
}

/** A host (and port) a proxy reports, or null when it is not one (nothing odd reaches the app's Host). */
function validHost(value: string): string | null {
  return /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(value) ? value : null;
}
