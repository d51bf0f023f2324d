/**
 * The red-team suite's setup (security probe 2026-12, issue 8): a real platform with a victim
 * function (token auth, a secret in its env) and an attacker function that runs whatever Python
 * its request body holds and returns what it printed. Every attack is a real Python snippet run
 * through the gateway, as a deployed function would run it.
 */
import assert from 'node:assert/strict';
import { deployed, py, usePlatform, type PlatformHarness } from './platform-harness.js';
import type { StartOptions } from '../../platform/start.js';

export { processesOfUid, processesWith } from '../helpers/processes.js';

export const VICTIM_SECRET = 's3cr3t-A-value-91-' + Math.random().toString(36).slice(2);

/** Runs `code` with `out(x)` collecting values; returns {out: [...], error?: 'Type: msg'}. */
const ATTACKER = py(
  'import json, traceback',
  'def handler(event, context):',
  '    results = []',
  '    scope = {"out": results.append}',
  '    try:',
  '        exec(event["body"].decode(), scope)',
  '    except BaseException as err:',
  '        if scope.get("RAISE"):',
  '            raise',
  '        return {"out": results, "error": f"{type(err).__name__}: {err}"}',
  '    return {"out": results}',
);

const VICTIM = py(
  'import os',
  'def handler(event, context):',
  '    return {"secret": os.environ.get("SECRET_A"), "uid": os.getuid()}',
);

export interface AttackHarness extends PlatformHarness {
  victimToken: string;
}

/** A platform with `victim` and `attacker` deployed (names random per file). */
export function useAttackPlatform(options: StartOptions = {}): AttackHarness & { victim: string; attacker: string } {
  const victim = `victim-${Math.random().toString(36).slice(2, 8)}`;
  const attacker = `attacker-${Math.random().toString(36).slice(2, 8)}`;
  const h = usePlatform({ poolSize: 2, ...options }, async (p) => {
    const v = await deployed(p.api, victim, { 'main.py': VICTIM }, { auth: 'token', env: { SECRET_A: VICTIM_SECRET, DB_PASSWORD: 'hunter2-A' } });
    (p as AttackHarness).victimToken = v.invokeToken as string;
    await deployed(p.api, attacker, { 'main.py': ATTACKER }, { limits: { timeout: '20s', memory: '128Mi' } });
  }) as AttackHarness & { victim: string; attacker: string };
  h.victim = victim;
  h.attacker = attacker;
  return h;
}

export interface AttackAnswer {
  status: number;
  out: unknown[];
  error?: string;
  body: unknown;
}

/** Runs an attack snippet in the attacker function. */
export async function attack(h: AttackHarness & { attacker: string }, code: string): Promise<AttackAnswer> {
  const res = await fetch(`${h.url}/fn/${h.attacker}/`, { method: 'POST', body: code });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: an error page
  }
  const parsed = (typeof body === 'object' && body !== null ? body : {}) as { out?: unknown[]; error?: string };
  return { status: res.status, out: parsed.out ?? [], ...(parsed.error !== undefined ? { error: parsed.error } : {}), body };
}

/** The victim answers its legitimate caller, with its own secret: the attacks changed nothing. */
export async function victimStillAnswers(h: AttackHarness & { victim: string }): Promise<number> {
  const res = await fetch(`${h.url}/fn/${h.victim}/`, { headers: { authorization: `Bearer ${h.victimToken}` } });
  assert.equal(res.status, 200, `the victim stopped answering: ${res.status} ${await res.clone().text()}`);
  const body = (await res.json()) as { secret: string; uid: number };
  assert.equal(body.secret, VICTIM_SECRET);
  return body.uid;
}

/** Python: a raw syscall through libc; out() gets [name, result, errno]. */
export const SYSCALL_PRELUDE = [
  'import ctypes, os',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'def sys_(name, nr, *args):',
  '    ctypes.set_errno(0)',
  '    r = libc.syscall(nr, *args)',
  '    out([name, r, ctypes.get_errno()])',
].join('\n');
