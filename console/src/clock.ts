/**
 * The one place the console waits for a moment of the clock (a token's notice, its expiry): a
 * render that depends on whether a moment has passed takes `useNowPast(moments)`, which gives the
 * time of the last wake and wakes again at the first moment still ahead. The delay is read from
 * the clock when the timer is set, not from a state's time (an effect runs after the paint, maybe
 * much later: CI 46 saw the token's expiry timer set 10 minutes late, console round 12), and the
 * clock is read again when the tab comes back (a sleeping computer's timers stand still).
 */
import { useEffect, useState } from 'preact/hooks';

/** setTimeout's longest delay (a longer one fires at once): a far moment is waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export function useNowPast(moments: readonly number[]): number {
  const [now, setNow] = useState(Date.now);
  const key = moments.join(',');
  useEffect(() => {
    const wake = (): void => setNow(Date.now());
    const clock = Date.now();
    // The clock moved past a moment since the last render: render again now.
    if (moments.some((m) => now < m && m <= clock)) wake();
    const ahead = moments.filter((m) => m > clock);
    const timer = ahead.length === 0 ? undefined : setTimeout(wake, Math.min(Math.min(...ahead) - clock, MAX_DELAY_MS));
    addEventListener('focus', wake);
    document.addEventListener('visibilitychange', wake);
    return () => {
      clearTimeout(timer);
      removeEventListener('focus', wake);
      document.removeEventListener('visibilitychange', wake);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for moments
  }, [key, now]);
  return now;
}

/**
 * How often the shared clock ticks: the shortest step a relative time ("12s ago") takes to change
 * that the console shows (under a minute it reads in seconds; `ago`, console/src/format.ts).
 */
export const TICK_MS = 5_000;

const ticking = new Set<() => void>();
let ticker: ReturnType<typeof setInterval> | undefined;

function tickAll(): void {
  for (const tick of ticking) tick();
}

/**
 * One timer for the whole console, running while some part of a page reads the clock: each reader
 * `read` is called at every tick and when the tab comes back (the tick stood still while the
 * computer slept), and re-renders only when what it reads changed. Relative times were computed at
 * render and never again while a page stayed open: "just now" an hour later (console round 13).
 */
export function useTicking<T>(read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    const tick = (): void => setValue(read);
    tick();
    ticking.add(tick);
    if (ticker === undefined) {
      ticker = setInterval(tickAll, TICK_MS);
      addEventListener('focus', tickAll);
      document.addEventListener('visibilitychange', tickAll);
    }
    return () => {
      ticking.delete(tick);
      if (ticking.size > 0 || ticker === undefined) return;
      clearInterval(ticker);
      ticker = undefined;
      removeEventListener('focus', tickAll);
      document.removeEventListener('visibilitychange', tickAll);
    };
  }, [read]);
  return value;
}
