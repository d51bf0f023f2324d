/**
 * The bind guard (docs/security.md, "Ports"): every box's inet `bind()` refused by a cgroup BPF
 * program the platform attaches once, at start, to the cgroup v2 directory its boxes join
 * (runtime/fp_sandbox/bindguard.py does the two bpf() calls; Node has no way to make them). The
 * seccomp filter refuses `listen`; `bind()` alone still took host ports (red team of 2026-12-05).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';

/** Attaches the guard to a directory (throws with the helper's reason when the kernel refuses). */
export function bindGuard(pythonPath: string, runtimeEntry: string): (dir: string) => void {
  const script = join(dirname(runtimeEntry), 'fp_sandbox', 'bindguard.py');
  return (dir) => {
    try {
      execFileSync(pythonPath, ['-I', '-S', script, dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    } catch (err) {
      const text = String((err as { stderr?: Buffer }).stderr ?? '').trim();
      throw new Error(text !== '' ? text : (err as Error).message);
    }
  };
}
