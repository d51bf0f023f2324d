/**
 * What the Version history says of a version's last start check (docs/adr/0252-a-versions-start-result-is-kept.md):
 * a version a deploy refused (its code did not load, DEPLOY_START_FAILED; its dependencies did not
 * build, DEPS_*) read like any other, with "Deploy vN" offered as for one that served (console
 * round 16). The message is the one the deploy answered, the function's secret values masked (ADR 0269).
 */
import type { JSX } from 'preact';
import type { Version } from '../../api.js';
import { shownText } from '../../format.js';

/** The longest part of the message the list shows (the whole is in the badge's title and the deploy's confirm). */
const SHOWN_CHARS = 240;

/** The refusal a version's last start check kept, or null (started, or never checked). */
export function startFailure(v: Version): { code: string; message: string } | null {
  const c = v.startCheck;
  if (c === undefined || c === null || c.ok) return null;
  return { code: c.code ?? 'failed', message: c.message ?? '' };
}

/** The badge and the start of the message under a version that did not start; nothing otherwise. */
export function StartFailed({ version }: { version: Version }): JSX.Element | null {
  const failed = startFailure(version);
  if (failed === null) return null;
  const message = shownText(failed.message);
  return (
    <span class="start-failed" data-testid={`start-failed-${version.version}`}>
      {' '}<span class="badge badge-failed">did not start</span> <code>{failed.code}</code>
      <span class="muted start-message">{message.length > SHOWN_CHARS ? `${message.slice(0, SHOWN_CHARS)}…` : message}</span>
    </span>
  );
}

/** The question "Deploy vN" asks: a version that did not start says so first. */
export function deployQuestion(v: Version | undefined, target: number | null, active: number | null): string {
  const serve = `Serve version ${target ?? '?'} instead of version ${active ?? '—'}? Calls go to it at once.`;
  const failed = v === undefined ? null : startFailure(v);
  if (failed === null) return serve;
  return `Version ${v!.version} did not start at its last deploy (${failed.code}): ${failed.message.slice(0, 500)}\n\nIt is started again first, and refused again if it still does not load. ${serve}`;
}
