/**
 * Tab kept inside a modal dialog. A native `<dialog>` opened with `showModal()` makes the page behind
 * it inert, but Tab past its last control leaves the document (to the browser's own controls, or
 * nowhere in a kiosk or a headless browser) instead of going round to its first: the focus was lost
 * from the Deploy dialog (console round 13; WAI-ARIA's dialog pattern keeps it inside).
 */
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';

function stops(box: HTMLElement): HTMLElement[] {
  return [...box.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.tabIndex >= 0 && el.getClientRects().length > 0 && el.closest('[inert]') === null);
}

/** The dialog's keydown: Tab from its last stop goes to its first, Shift+Tab from its first to its last. */
export function keepTabInside(e: KeyboardEvent, box: HTMLElement): void {
  if (e.key !== 'Tab' || e.altKey || e.ctrlKey || e.metaKey) return;
  const all = stops(box);
  const first = all[0];
  const last = all[all.length - 1];
  if (first === undefined || last === undefined) return;
  const at = document.activeElement;
  const inside = at instanceof Node && box.contains(at);
  if (e.shiftKey && (at === first || !inside)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (at === last || !inside)) {
    e.preventDefault();
    first.focus();
  }
}
