/**
 * The Code tab's version history, newest first, a page at a time: `GET …/versions` gives at most
 * 1000 a call and `before=` pages on (the versions below a number). A function with more than a
 * page showed its newest 50 and nothing else: an older version could not be deployed, deleted or
 * even seen, and nothing said there were more (console round 3).
 */
import { useRef } from 'preact/hooks';
import { api, enc, type Version } from '../../api.js';
import { useAsync, type AsyncState } from '../../ui.js';

/** Versions shown at first, and added by each "Show older versions". */
export const VERSION_PAGE = 50;
/** The API's largest `limit`. */
const API_MAX = 1000;

export interface VersionPages extends AsyncState<{ items: Version[]; more: boolean }> {
  /** Shows the next page (the list is read again, so a reload keeps what is shown). */
  showOlder: () => void;
}

/** The newest `wanted` versions of `name`, and whether there are older ones (reads one more). */
async function newest(name: string, wanted: number): Promise<{ items: Version[]; more: boolean }> {
  const items: Version[] = [];
  let before: number | undefined;
  while (items.length <= wanted) {
    const limit = Math.min(API_MAX, wanted + 1 - items.length);
    const page = await api<{ items: Version[] }>('GET', `/functions/${enc(name)}/versions?limit=${limit}${before !== undefined ? `&before=${before}` : ''}`);
    items.push(...page.items);
    if (page.items.length < limit) break;
    before = page.items[page.items.length - 1]!.version;
  }
  return { items: items.slice(0, wanted), more: items.length > wanted };
}

/** Read again when `active` changes (a deploy, a rollback); keeps the pages shown across reloads. */
export function useVersionPages(name: string, active: number | null): VersionPages {
  const wanted = useRef(VERSION_PAGE);
  const state = useAsync(() => newest(name, wanted.current), [name, active]);
  return {
    ...state,
    showOlder: () => {
      wanted.current += VERSION_PAGE;
      state.reload();
    },
  };
}
