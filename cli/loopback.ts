import { BlockList, isIP } from 'node:net';

/** 127.0.0.0/8 and ::1; an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is checked as its IPv4 one. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether a platform bound to `host` listens on this machine only (127.x, ::1 or localhost: the
 * default), in any spelling of those: `::ffff:127.0.0.1`, `0:0:0:0:0:0:0:1`, `[::1]`, `LOCALHOST`
 * (red team round 12: `up --host ::ffff:127.0.0.1` listened on loopback only and answered every
 * Host, DNS rebinding included).
 */
export function isLoopback(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  const family = isIP(name);
  if (family !== 0) return LOOPBACK.check(name, family === 6 ? 'ipv6' : 'ipv4');
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name === 'localhost' || /^127(\.\d{1,3}){1,3}$/.test(name);
}
