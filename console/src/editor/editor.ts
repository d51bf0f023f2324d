/**
 * The Python editor (CodeMirror 6), loaded on first use of the Code tab (its own chunk). One view;
 * each file keeps its own state (and undo history). Problems from `POST /validate` are shown as
 * diagnostics at their line (gutter marker, underline, tooltip); "open at error line" marks a line
 * and scrolls to it.
 *
 * The view lives in a shadow root: CodeMirror's styles then go in as constructed stylesheets
 * (adoptedStyleSheets), which the console's Content-Security-Policy (no inline styles) allows; in
 * the document itself they would be <style> elements, which it blocks.
 */
import { python } from '@codemirror/lang-python';
import { defaultHighlightStyle, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, highlightSpecialChars, type DecorationSet } from '@codemirror/view';
import { basicSetup } from 'codemirror';

export interface LineProblem {
  line: number;
  column?: number | null;
  message: string;
  severity: 'error' | 'warning';
}

export interface EditorHandle {
  /** Shows `path` (its own state, created from `text` the first time). */
  open(path: string, text: string): void;
  /** Replaces a file's state (e.g. after discarding the draft). */
  reset(path: string, text: string): void;
  text(): string;
  problems(list: readonly LineProblem[]): void;
  /** Marks `line` (1-based) and scrolls to it; 0 clears the mark. */
  markLine(line: number): void;
  destroy(): void;
}

const markEffect = StateEffect.define<number>();
const markField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(markEffect)) continue;
      if (e.value <= 0 || e.value > tr.state.doc.lines) next = Decoration.none;
      else next = Decoration.set([Decoration.line({ class: 'cm-marked-line', attributes: { 'data-marked-line': String(e.value) } }).range(tr.state.doc.line(e.value).from)]);
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/**
 * The bidi controls CodeMirror leaves out of its marked special characters (it marks U+202D, U+202E,
 * U+2066, U+2067, U+2069): LRE, RLE, PDF and FSI reorder a line as well (Trojan Source, CVE-2021-42574),
 * so code a draft holds must show them too (console round ui1).
 */
const MORE_SPECIALS = /[\u202a-\u202c\u2068]/;

/**
 * CodeMirror's default syntax colours, each through a variable of styles.css (`--syn-708` for
 * `#708`, the default's own value when unset), so the dark scheme has colours of its own: the
 * default's dark-on-light ones were unreadable on the dark editor (keywords #708 at 2.0:1, a
 * function's name #00f at 2.2:1), and its #e40 (escapes) and #f00 (invalid) under 4.5:1 in light
 * (console round ui1).
 */
const highlight = HighlightStyle.define(defaultHighlightStyle.specs.map((s) => (typeof s['color'] === 'string' ? { ...s, color: `var(--syn-${s['color'].slice(1)}, ${s['color']})` } : s)));

const theme = EditorView.theme({
  '&': { height: '60vh', minHeight: '320px', color: 'var(--fg, #1b1f24)', backgroundColor: 'var(--card, #fff)', fontSize: '13px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg, #f0f2f5)', color: 'var(--muted, #5b6470)', borderRight: '1px solid var(--line, #d9dee5)' },
  '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'rgba(128, 128, 128, 0.08)' },
  '.cm-marked-line': { backgroundColor: 'rgba(239, 68, 68, 0.18)' },
  '&.cm-focused': { outline: '2px solid var(--focus, #c2410c)' },
  '.cm-cursor': { borderLeftColor: 'var(--fg, #1b1f24)' },
});

export function createEditor(parent: HTMLElement, onChange: (path: string, text: string) => void): EditorHandle {
  const states = new Map<string, EditorState>();
  let current = '';
  const shadow = parent.shadowRoot ?? parent.attachShadow({ mode: 'open' });
  shadow.replaceChildren();
  const mount = document.createElement('div');
  shadow.appendChild(mount);
  const extensions = (path: string): Extension[] => [
    basicSetup,
    highlightSpecialChars({ addSpecialChars: MORE_SPECIALS }),
    syntaxHighlighting(highlight),
    theme,
    ...(path.endsWith('.py') ? [python()] : []),
    lintGutter(),
    markField,
    EditorView.contentAttributes.of({ 'aria-label': `Code editor: ${path}` }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange(current, u.state.doc.toString());
    }),
  ];
  const view = new EditorView({ parent: mount, root: shadow, state: EditorState.create({ doc: '', extensions: extensions('') }) });
  const create = (path: string, text: string): EditorState => EditorState.create({ doc: text, extensions: extensions(path) });
  return {
    open(path, text) {
      if (current !== '') states.set(current, view.state);
      current = path;
      let state = states.get(path);
      if (state === undefined) states.set(path, (state = create(path, text)));
      view.setState(state);
    },
    reset(path, text) {
      const state = create(path, text);
      states.set(path, state);
      if (path === current) view.setState(state);
    },
    text: () => view.state.doc.toString(),
    problems(list) {
      const doc = view.state.doc;
      const diagnostics: Diagnostic[] = list.map((p) => {
        const line = doc.line(Math.min(Math.max(1, p.line), doc.lines));
        const from = Math.min(line.to, line.from + Math.max(0, (p.column ?? 1) - 1));
        return { from, to: Math.max(line.to, from), severity: p.severity, message: p.message };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    markLine(line) {
      const doc = view.state.doc;
      const effects: StateEffect<unknown>[] = [markEffect.of(line)];
      if (line > 0 && line <= doc.lines) effects.push(EditorView.scrollIntoView(doc.line(line).from, { y: 'center' }));
      view.dispatch({ effects, ...(line > 0 && line <= doc.lines ? { selection: { anchor: doc.line(line).from } } : {}) });
    },
    destroy: () => view.destroy(),
  };
}
