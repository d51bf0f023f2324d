/**
 * A relative time ("3m ago") that stays true while the page is open: it reads the shared clock
 * (`useTicking`, console/src/clock.ts) instead of the render's time, and keeps the absolute moment
 * at hand as a `<time datetime>` with the local time as its tooltip (console round 13).
 */
import type { JSX } from 'preact';
import { useCallback } from 'preact/hooks';
import { useTicking } from './clock.js';
import { ago, time } from './format.js';

export function Ago({ at, none = 'never' }: { at: number | null | undefined; none?: string }): JSX.Element {
  const read = useCallback(() => (at === null || at === undefined ? none : ago(at)), [at, none]);
  const text = useTicking(read);
  if (at === null || at === undefined) return <>{none}</>;
  return <time class="when" dateTime={new Date(at).toISOString()} title={time(at)}>{text}</time>;
}
