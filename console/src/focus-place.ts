/**
 * Where the keyboard's focus goes when the control that had it goes away with what it acted on: a
 * removed secret's Remove, a deleted version's Delete, the Deploy vN of the version that now serves,
 * a revoked token's Revoke, a deleted workspace's Delete, a cancelled run's Cancel. The focus fell to
 * the page's body: a screen reader said nothing and Tab started over at the header (console round 10).
 */

/** How long the control is watched: the read that redraws the list after the change is on its way. */
const WATCH_MS = 15_000;
/** How long, once the control left, the nearest place around it may take to be drawn again (a tab that reloads shows "Loading…" first). */
const REDRAWN_MS = 3_000;

/**
 * Called when the focused control's action went through (asked and confirmed): once that control
 * leaves the page, the focus goes to the nearest named place that was around it (the Secrets form,
 * the Version history list, the Tokens table) — the one drawn again when the page redrew it — or,
 * when that one does not come back, to the nearest such place still on the page; unless the focus
 * went somewhere else meanwhile.
 */
export function keepFocusInPlace(): void {
  const control = document.activeElement;
  if (!(control instanceof HTMLElement) || control === document.body) return;
  const places: string[] = [];
  for (let e = control.parentElement; e !== null && e !== document.body; e = e.parentElement) {
    const label = e.getAttribute('aria-label');
    if (e.id !== '') places.push(`#${CSS.escape(e.id)}`);
    else if (label !== null) places.push(`${e.tagName.toLowerCase()}[aria-label="${CSS.escape(label)}"]`);
  }
  const lostElsewhere = (): boolean => document.activeElement !== null && document.activeElement !== document.body;
  const focus = (selector: string | undefined): void => {
    const place = selector === undefined ? null : document.querySelector<HTMLElement>(selector);
    if (place === null) return;
    if (!place.hasAttribute('tabindex')) place.tabIndex = -1;
    place.focus();
  };
  let redrawn: ReturnType<typeof setTimeout> | undefined;
  const stop = (): void => {
    observer.disconnect();
    clearTimeout(watched);
    clearTimeout(redrawn);
  };
  const observer = new MutationObserver(() => {
    if (control.isConnected) return;
    if (lostElsewhere()) return stop();
    if (places[0] !== undefined && document.querySelector(places[0]) !== null) {
      focus(places[0]);
      return stop();
    }
    redrawn ??= setTimeout(() => {
      if (!lostElsewhere()) focus(places.find((p) => document.querySelector(p) !== null));
      stop();
    }, REDRAWN_MS);
  });
  const watched = setTimeout(stop, WATCH_MS);
  observer.observe(document.body, { childList: true, subtree: true });
}
