/**
 * Host-wide uid claims (docs/adr/0076-host-wide-uid-claims.md): two platforms on one host never give
 * the same uid to functions; a crashed platform's claims are taken over; a platform gives back only
 * its own claims. "Another platform" is a real second process holding claims in the same directory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PlatformError } from '../../protocol/index.js';
import { OTHERS_RECHECK_MS, UidClaims } from '../../poolmgr/host/uid-claims.js';
import { UidAllocator } from '../../poolmgr/host/uids.js';

const CLAIMS_MODULE = fileURLToPath(new URL('../../poolmgr/host/uid-claims.js', import.meta.url));

/** A second platform process that claims `uids` in `dir`, says so, and holds them until killed. */
async function otherPlatform(dir: string, uids: number[]): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `import { UidClaims } from ${JSON.stringify(CLAIMS_MODULE)};
const c = new UidClaims(${JSON.stringify(dir)});
console.log(JSON.stringify(${JSON.stringify(uids)}.map((u) => c.claim(u))));
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.deepEqual(JSON.parse(line.toString()), uids.map(() => true), 'the other platform got its claims');
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

describe('host-wide uid claims', () => {
  const dirs: string[] = [];
  const claimsDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-uids-'));
    dirs.push(dir);
    return join(dir, 'uids');
  };
  after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

  it('a uid another live platform holds is skipped: the function gets the next one', async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_000, 600_002]);
    try {
      const uids = new UidAllocator(600_000, 600_009, new UidClaims(dir));
      assert.equal(uids.acquire('a'), 600_001);
      assert.equal(uids.acquire('b'), 600_003);
      assert.equal(uids.acquire('a'), 600_001, 'a function keeps its uid for its next runtime');
      assert.equal(readFileSync(join(dir, '600000'), 'utf8').split(' ')[0], String(other.pid), "the other platform's claim is untouched");
    } finally {
      await other.kill();
    }
  });

  it('a uid another live platform holds is read once, then skipped unread for a while (each read is ~5 file operations on a cold start)', async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_000]);
    try {
      let now = 0;
      const uids = new UidAllocator(600_000, 600_009, new UidClaims(dir, () => now));
      assert.equal(uids.acquire('a'), 600_001);
      // The other platform's claim is now a crashed one's: read again, it would be taken over.
      writeFileSync(join(dir, '600000'), 'not a claim');
      assert.equal(uids.acquire('b'), 600_002, 'skipped unread');
      now += OTHERS_RECHECK_MS;
      assert.equal(uids.acquire('c'), 600_000, 'read again after a while, and taken over');
    } finally {
      await other.kill();
    }
  });

  it('a range that seems used up is read again before the refusal: a uid freed meanwhile is taken', async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_000]);
    try {
      const uids = new UidAllocator(600_000, 600_001, new UidClaims(dir, () => 0));
      assert.equal(uids.acquire('a'), 600_001);
      unlinkSync(join(dir, '600000')); // the other platform let it go
      assert.equal(uids.acquire('b'), 600_000);
    } finally {
      await other.kill();
    }
  });

  it("a crashed platform's claims are taken over; a garbled or empty claim too", async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_000]);
    await other.kill();
    writeFileSync(join(dir, '600001'), 'not a claim');
    writeFileSync(join(dir, '600002'), ''); // a platform killed mid-write (before claims were linked into place whole)
    const claims = new UidClaims(dir);
    const uids = new UidAllocator(600_000, 600_009, claims);
    assert.equal(uids.acquire('a'), 600_000);
    assert.equal(uids.acquire('b'), 600_001);
    assert.equal(uids.acquire('c'), 600_002);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.')), [], 'no temporary file left behind');
    assert.equal(readFileSync(join(dir, '600000'), 'utf8').split(' ')[0], String(process.pid));
    assert.equal(existsSync(join(dir, '.takeover')), false, 'the takeover lock is gone');
  });

  it("a uid freed in the platform stays its claim (its next function takes it, no file operation); all go back to the host at close", () => {
    const dir = claimsDir();
    const uids = new UidAllocator(600_000, 600_009, new UidClaims(dir));
    assert.equal(uids.acquire('a'), 600_000);
    uids.acquire('a');
    assert.equal(uids.acquire('b'), 600_001);
    uids.release('a');
    uids.release('a');
    assert.equal(uids.uidOf('a'), undefined, "a's last runtime is gone");
    assert.equal(existsSync(join(dir, '600000')), true, 'still claimed by this platform');
    unlinkSync(join(dir, '600000')); // were it claimed again, the file would come back
    assert.equal(uids.acquire('c'), 600_000, 'the lowest free uid, taken again');
    assert.equal(existsSync(join(dir, '600000')), false, 'taken without touching the claims directory');
    uids.close();
    assert.deepEqual(readdirSync(dir), [], 'every claim given back');
  });

  it('with claimAheadMs, the next uid is claimed after a function took one: the next new function takes it with no file operation', async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_001]);
    try {
      const uids = new UidAllocator(600_000, 600_009, new UidClaims(dir), 0);
      assert.equal(uids.acquire('a'), 600_000);
      // The lowest uid no function holds, past the other platform's: claimed ahead, off the cold start.
      await until(() => existsSync(join(dir, '600002')), '600002 claimed ahead');
      assert.equal(readFileSync(join(dir, '600002'), 'utf8').split(' ')[0], String(process.pid));
      unlinkSync(join(dir, '600002')); // were it claimed at the acquire, the file would come back
      assert.equal(uids.acquire('b'), 600_002);
      assert.equal(existsSync(join(dir, '600002')), false, 'taken without touching the claims directory');
      assert.equal(uids.acquire('a'), 600_000, 'a function keeps its uid');
      await until(() => existsSync(join(dir, '600003')), 'the next one claimed ahead in turn');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.')), [], 'no temporary file left behind');
      uids.close();
      assert.deepEqual(readdirSync(dir).sort(), ['600001'], "every claim of this platform given back, the other's kept");
    } finally {
      await other.kill();
    }
  });

  it('a platform closed before its claim ahead leaves no claim behind', async () => {
    const dir = claimsDir();
    const uids = new UidAllocator(600_000, 600_009, new UidClaims(dir), 50);
    assert.equal(uids.acquire('a'), 600_000);
    uids.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(readdirSync(dir), []);
  });

  it("a platform never removes a claim that is not its own (one taken over since)", () => {
    const dir = claimsDir();
    const claims = new UidClaims(dir);
    assert.equal(claims.claim(600_005), true);
    writeFileSync(join(dir, '600005'), '1 1\n'); // another process's claim now
    claims.release(600_005);
    assert.equal(readFileSync(join(dir, '600005'), 'utf8'), '1 1\n');
  });

  it('every uid held by this or other platforms: RUNTIME_UNAVAILABLE, saying so', async () => {
    const dir = claimsDir();
    const other = await otherPlatform(dir, [600_000, 600_001]);
    try {
      const uids = new UidAllocator(600_000, 600_001, new UidClaims(dir));
      assert.throws(() => uids.acquire('a'), (err: unknown) => err instanceof PlatformError && err.code === 'RUNTIME_UNAVAILABLE' && /another platform/.test(err.message));
    } finally {
      await other.kill();
    }
  });

  it('a range of its own, used up (user-namespace mode\'s subordinate uids): RUNTIME_UNAVAILABLE, saying what to widen; a released uid is taken again', () => {
    const uids = new UidAllocator(1002, 1003, null, null, 'give the platform\'s user a larger range in /etc/subuid and /etc/subgid');
    assert.equal(uids.acquire('a'), 1002);
    assert.equal(uids.acquire('b'), 1003);
    assert.equal(uids.acquire('a'), 1002, 'a function keeps its uid for each instance');
    assert.throws(() => uids.acquire('c'), (err: unknown) => err instanceof PlatformError && err.code === 'RUNTIME_UNAVAILABLE' && /\/etc\/subuid/.test(err.message));
    uids.release('b');
    assert.equal(uids.acquire('c'), 1003);
    uids.close();
  });
});

/** Resolves once `check` holds; fails after a generous bound (a busy machine). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 10_000) assert.fail(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
