/**
 * A box that scrolls on its own (a table wider than a phone, a program's output or a diff taller
 * than half the screen) is reachable with the keyboard while, and only while, it has something to
 * scroll: it gets `tabindex="0"`, so Tab reaches it and the arrow keys scroll it (WCAG 2.1.1; axe
 * `scrollable-region-focusable`: the Deploy dialog's diff could not be scrolled without a mouse,
 * console round 13). One watcher for the page, after each change of the page and of its size,
 * rather than a tab stop on every box (a table that fits would be a stop with nothing to do).
 */
const BOXES = '.table-wrap, pre.out, .diff';
/** Marks the boxes given a tab stop here, so only those lose it again. */
const MARK = 'data-scrolls';

function check(root: HTMLElement): void {
  for (const box of root.querySelectorAll<HTMLElement>(BOXES)) {
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls && !box.hasAttribute('tabindex')) {
      box.tabIndex = 0;
      box.setAttribute(MARK, '');
    } else if (!scrolls && box.hasAttribute(MARK) && document.activeElement !== box) {
      box.removeAttribute('tabindex');
      box.removeAttribute(MARK);
    }
  }
}

export function keepScrollBoxesReachable(root: HTMLElement): void {
  let queued = false;
  const soon = (): void => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      check(root);
    });
  };
  new MutationObserver(soon).observe(root, { childList: true, subtree: true, characterData: true });
  addEventListener('resize', soon);
  // A <details> opened shows what may scroll; `toggle` does not bubble.
  root.addEventListener('toggle', soon, true);
  soon();
}
