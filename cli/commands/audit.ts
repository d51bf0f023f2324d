/** `audit`: the workspace's audit log, newest first (owners; the admin token with --all: every workspace). */
import { choice, flag, int, positionals, str, type ParsedArgs } from '../args.js';
import type { ApiAuditEntry } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';
import { AUDIT_ACTIONS, auditDetailText, auditWhenText } from '../../protocol/index.js';
import { parseWhen } from '../when.js';


/** An entry's detail as `key=value` pairs (protocol/audit-actions.ts), cut at 80 characters for the table. */
export function detailText(detail: Record<string, unknown>): string {
  const text = auditDetailText(detail);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function printList(ctx: Context, items: ApiAuditEntry[], all: boolean): void {
  if (items.length === 0) {
    ctx.out.line('No audit entries.');
    return;
  }
  ctx.out.line(table(
    ['SEQ', 'WHEN (UTC)', ...(all ? ['WORKSPACE'] : []), 'WHO', 'FROM', 'ACTION', 'TARGET', 'DETAIL'],
    items.map((e) => [
      String(e.seq), auditWhenText(e.at), ...(all ? [e.workspace ?? '(install)'] : []),
      `${e.actor.label} (${e.actor.role})`, e.address, e.action, e.target, detailText(e.detail),
    ]),
  ));
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  positionals(args, 0, 'audit');
  const since = str(args, 'since');
  const action = choice(args, 'action', AUDIT_ACTIONS);
  const all = flag(args, 'all');
  const sinceMs = since !== undefined ? parseWhen(since, ctx.now(), 'since') : undefined;
  const client = await clientOf(ctx, args);
  const page = await client.audit({
    ...(sinceMs !== undefined ? { since: String(sinceMs) } : {}),
    action,
    actor: str(args, 'actor'),
    limit: int(args, 'limit', 50, 1, 1000),
    cursor: str(args, 'cursor'),
    ...(all ? { scope: 'all' } : {}),
  });
  ctx.out.data({ ok: true, items: page.items, nextCursor: page.nextCursor });
  printList(ctx, page.items, all);
  if (page.nextCursor !== null) ctx.out.line(`More: --cursor ${page.nextCursor}`);
  return EXIT.OK;
}

export const auditCommand: Command = {
  name: 'audit',
  summary: "show the workspace's audit log: every change, who made it, from where",
  usage: 'audit [--since 1h|TIME] [--action ACTION] [--actor TOKEN_ID] [--limit N] [--cursor C] [--all]',
  examples: [
    'audit --since 1h',
    'audit --action deploy',
  ],
  details: [
    `Newest first. Actions: ${AUDIT_ACTIONS.join(', ')}.`,
    'Needs an owner token (or the admin token); --all (admin token) shows every workspace.',
  ].join('\n'),
  options: {
    since: { type: 'string', value: 'WHEN', description: 'entries since this long ago (1h, 7d) or this time (ISO 8601, Unix ms)' },
    action: { type: 'string', value: 'ACTION', description: 'only this action' },
    actor: { type: 'string', value: 'TOKEN_ID', description: "only this token's changes" },
    limit: { type: 'string', short: 'n', value: 'N', description: 'at most N entries (default 50, at most 1000)' },
    cursor: { type: 'string', value: 'CURSOR', description: 'the next page (printed after a full page)' },
    all: { type: 'boolean', description: 'every workspace, and install-wide changes (the admin token)' },
  },
  run,
};
