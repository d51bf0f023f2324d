/** The window picker shared by Usage and Cold starts (1h, 24h, 7d, 30d). */
import type { JSX } from 'preact';
import { href, useRoute } from './router.js';

export const WINDOWS = ['1h', '24h', '7d', '30d'] as const;
export type Window = (typeof WINDOWS)[number];

/**
 * The window chosen, kept in the URL (`?window=24h`) with the rest of the route: a reload showed
 * the last hour again (console round 3). A choice replaces the history entry, so stepping through
 * the windows with the arrow keys does not fill Back with them.
 */
export function useWindowParam(): [Window, (w: Window) => void] {
  const route = useRoute();
  const asked = route.query.get('window');
  const win = (WINDOWS as readonly string[]).includes(asked ?? '') ? asked as Window : '1h';
  const set = (w: Window): void => location.replace(href(route.parts, { ...Object.fromEntries(route.query), window: w === '1h' ? undefined : w }));
  return [win, set];
}

export function WindowPicker({ value, onChange }: { value: Window; onChange: (w: Window) => void }): JSX.Element {
  return (
    // A radio group (WAI-ARIA): one tab stop, the arrow keys move the choice and the focus.
    <div class="segmented" role="radiogroup" aria-label="Time window" onKeyDown={(e) => {
      const step = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? -1 : 0;
      if (step === 0) return;
      e.preventDefault();
      const next = WINDOWS[(WINDOWS.indexOf(value) + step + WINDOWS.length) % WINDOWS.length]!;
      onChange(next);
      const group = e.currentTarget;
      requestAnimationFrame(() => group.querySelector<HTMLElement>(`[data-window="${next}"]`)?.focus());
    }}>
      {WINDOWS.map((w) => (
        <button key={w} type="button" role="radio" data-window={w} aria-checked={w === value} tabIndex={w === value ? 0 : -1} class={w === value ? 'active' : ''} onClick={() => onChange(w)}>{w}</button>
      ))}
    </div>
  );
}
