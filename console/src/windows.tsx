/** The window picker shared by Usage and Cold starts (1h, 24h, 7d, 30d). */
import type { JSX } from 'preact';

export const WINDOWS = ['1h', '24h', '7d', '30d'] as const;
export type Window = (typeof WINDOWS)[number];

export function WindowPicker({ value, onChange }: { value: Window; onChange: (w: Window) => void }): JSX.Element {
  return (
    <div class="segmented" role="radiogroup" aria-label="Time window">
      {WINDOWS.map((w) => (
        <button key={w} type="button" role="radio" aria-checked={w === value} class={w === value ? 'active' : ''} onClick={() => onChange(w)}>{w}</button>
      ))}
    </div>
  );
}
