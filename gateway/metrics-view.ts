/**
 * One scrape's part of the exposition (docs/adr/0036-metrics-scope.md): the text prom-client
 * rendered, less the samples whose `function` label the view may not see. `all` is the text as
 * is; `platform` drops every sample with a `function` label; `workspace` keeps the samples without
 * one (not with `platform: false`, FP_METRICS_PLATFORM_SERIES=root) and those of
 * that workspace's function keys (`<name>` for `default`, `<name>.<workspace>` otherwise) that
 * exist now (series outlive a deleted function: a workspace deleted and created again under the
 * same name, for another tenant, must not show the first one's functions), never `_other` (it
 * sums functions of every workspace past the label cap).
 *
 * `# HELP` and `# TYPE` lines are always kept: they are the code's own text, the same in every
 * install, and keeping them makes what a view shows independent of other workspaces' traffic
 * (dropping a family's header once all its samples were dropped would tell a tenant that some
 * other function has been called).
 *
 * The text format (0.0.4) is one sample per line, `name{label="value",…} number`, with `\\`,
 * `\"` and `\n` escaped in label values; a line that names a `function` label the reader cannot
 * parse is dropped (fail closed).
 */
import { parseFunctionKey, type MetricsView } from '../protocol/index.js';

const FUNCTION_LABEL = 'function';
/** Every sample with a `function` label has this text; a cheap test before the parse. */
const FUNCTION_MARK = `${FUNCTION_LABEL}="`;
/** No such label on the line (as opposed to null: the labels do not parse). */
const ABSENT = Symbol('absent');
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `view` sees the platform's own series (no `function` label): any view but a workspace's without them. */
export function seesPlatformSeries(view: MetricsView): boolean {
  return view.kind !== 'workspace' || view.platform !== false;
}

/** The part of `exposition` that `view` may see. */
export function viewOf(exposition: string, view: MetricsView): string {
  if (view.kind === 'all') return exposition;
  const platform = seesPlatformSeries(view);
  const kept: string[] = [];
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#') || line === '') {
      kept.push(line);
      continue;
    }
    const fn = line.includes(FUNCTION_MARK) ? labelValue(line, FUNCTION_LABEL) : ABSENT;
    if (fn === ABSENT ? platform : fn !== null && sees(view, fn)) kept.push(line);
  }
  return kept.join('\n');
}

function sees(view: MetricsView, functionLabel: string): boolean {
  if (view.kind !== 'workspace') return view.kind === 'all';
  // `_other` and anything that is not a canonical key parse as null: never a workspace's.
  return parseFunctionKey(functionLabel)?.workspace === view.workspace && (view.exists?.(functionLabel) ?? true);
}

/**
 * The (unescaped) value of label `wanted` on a sample line; ABSENT without it; null when the label
 * set does not parse to its closing brace (read whole, so a malformed line is never half-trusted).
 */
export function labelValue(line: string, wanted: string): string | null | typeof ABSENT {
  const open = line.indexOf('{');
  const space = line.indexOf(' ');
  if (open === -1 || (space !== -1 && space < open)) return ABSENT;
  let found: string | typeof ABSENT = ABSENT;
  let i = open + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('="', i);
    if (eq === -1) return null;
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) return null;
    const start = eq + 2;
    let j = start;
    let escapes = false;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        escapes = true;
        j++;
      }
    }
    if (j >= line.length) return null; // no closing quote
    const raw = line.slice(start, j);
    const value = escapes ? raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : raw;
    if (name === wanted) {
      if (found !== ABSENT) return null; // the label twice
      found = value;
    }
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') return null;
  }
  return found;
}
