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
