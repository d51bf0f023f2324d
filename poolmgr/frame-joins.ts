/**
 * Bytes of runtime frames being read, bounded across the platform (`maxFrameBytesInFlight`,
 * FP_MAX_FRAME_BYTES_IN_FLIGHT; docs/security.md, "The runtime's channel").
 *
 * A frame longer than 64 KiB is joined in a buffer of its own, allocated at its length as soon as
 * its 4-byte prefix is read (protocol/frames.ts), and kept until its last byte comes. User code
 * writes on its runtime's socket: before this bound (red team round 13), a function wrote the
 * prefix of a 64 MiB frame and all of it but the last byte, then nothing more, after its call was
 * answered: the platform held 64 MiB per instance, for as long as the instance lived (idle, until
 * it was reaped; kept warm by `minWarm`, for good), in no budget. Four instances took the
 * platform from 81 to 337 MiB; one workspace's 64 instances would hold 4 GiB, and more workspaces
 * more, until the kernel killed the platform.
 *
 * Now such a frame takes its length from this budget when its prefix is read, and gives it back
 * once whole (or when its runtime is gone). A runtime whose frame does not fit is killed
 * (GATEWAY_OVERLOADED: its call, if any, may be retried): past `maxBytes` in all, or, for a
 * placed runtime (or one spawned for a function: RuntimeProcess), past half of it for its workspace's runtimes together, as the gateway's byte
 * budgets share theirs (GROUP_DIVISOR). While nothing else is held, any frame fits (one frame is at
 * most 64 MiB); so does a workspace's first. Why kill and not pause: docs/adr/0132-frames-being-read-bounded.md.
 */
import type { JoinAccount } from '../protocol/index.js';

export const DEFAULT_MAX_FRAME_BYTES_IN_FLIGHT = 1024 * 1024 * 1024;
/** What one workspace's runtimes may hold of it: a half (as gateway/byte-budget.ts GROUP_DIVISOR; the pool does not import the gateway). */
const GROUP_DIVISOR = 2;

export class FrameJoins {
  /** Bytes taken now, all runtimes together. */
  held = 0;
  /** Frames refused so far. */
  refused = 0;
  private readonly groups = new Map<string, number>();

  constructor(readonly maxBytes: number) {}

  /** The account of one runtime's decoder; `group()` names its workspace once it is placed or spawned for a function (null before). */
  account(group: () => string | null): JoinAccount {
    let own = 0;
    let charged: string | null = null;
    return {
      take: (bytes) => {
        const key = charged ?? group();
        const inGroup = key === null ? 0 : this.groups.get(key) ?? 0;
        // Its workspace's share first: a refusal by it is the workspace's own doing (its instance's
        // end spends its start budget after crashes); one by the bound alone, while the share had
        // room, is other workspaces' frames (ADR 0166).
        if (key !== null && inGroup + bytes > this.maxBytes / GROUP_DIVISOR && inGroup - own > 0) {
          this.refused++;
          return false;
        }
        if (this.held + bytes > this.maxBytes && this.held - own > 0) {
          this.refused++;
          return key === null ? false : 'platform';
        }
        this.held += bytes;
        own += bytes;
        if (key !== null) {
          this.groups.set(key, inGroup + bytes);
          charged = key;
        }
        return true;
      },
      give: (bytes) => {
        const n = Math.min(bytes, own);
        this.held -= n;
        own -= n;
        if (charged !== null) {
          const left = (this.groups.get(charged) ?? 0) - n;
          if (left > 0) this.groups.set(charged, left);
          else this.groups.delete(charged);
          if (own === 0) charged = null;
        }
      },
    };
  }

  /** Bytes taken by `group`'s runtimes now. */
  heldBy(group: string): number {
    return this.groups.get(group) ?? 0;
  }
}
