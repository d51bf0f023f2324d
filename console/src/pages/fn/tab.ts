/** What every tab of a function's page (detail.tsx) gets. */
import type { FnAnswer } from '../../api.js';

export interface TabProps {
  name: string;
  fn: FnAnswer;
  reload: () => void;
  query: URLSearchParams;
}
