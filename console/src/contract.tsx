/** The contract card (docs/api.md, "contract"): what a function may count on. */
import type { JSX } from 'preact';
import type { Contract } from './api.js';
import { bytes, duration, ms } from './format.js';

const INVOCATION: Record<'sync' | 'async' | 'both', string> = {
  sync: 'sync only: the invoke URL (/async/ answers 409 INVOCATION_MODE_NOT_ALLOWED)',
  async: 'async only: POST to the async URL, queued and retried (/fn/ answers 409 INVOCATION_MODE_NOT_ALLOWED)',
  both: 'sync at the invoke URL, async at the async URL',
};

/**
 * `invocation` decides which URLs take calls (docs/adr/0046-invocation-mode.md): an async-only
 * function's card showed its /fn/ URL as "Invoke URL", which answers 409 (docs/adr/0048-newcomer-round-3.md).
 */
export function ContractCard({ contract, asyncUrl, invocation }: { contract: Contract; asyncUrl?: string | undefined; invocation: 'sync' | 'async' | 'both' }): JSX.Element {
  const rows: [string, string][] = [
    ...(invocation !== 'async' ? [['Invoke URL', contract.invokeUrl] as [string, string]] : []),
    ...(asyncUrl !== undefined && invocation !== 'sync' ? [['Async URL', asyncUrl] as [string, string]] : []),
    ['Invocation', INVOCATION[invocation]],
    ['Auth', contract.auth === 'token' ? 'invoke token (Authorization: Bearer)' : 'public'],
    ['Timeout', duration(contract.timeoutMs)],
    ['Memory', bytes(contract.memoryBytes)],
    ['Concurrency per instance', String(contract.concurrency)],
    ['Instances', `${contract.minWarm} warm when idle, up to ${contract.maxInstances}`],
    ['Waiting calls', String(contract.maxQueue)],
    ['Payload (sync / async)', `${bytes(contract.syncPayloadBytes)} / ${bytes(contract.asyncPayloadBytes)}`],
    ['Retries (async)', `${contract.retry.maxAttempts} attempt${contract.retry.maxAttempts === 1 ? '' : 's'}, backoff ${ms(contract.retry.backoffBaseMs)}–${ms(contract.retry.backoffMaxMs)}, given up after ${duration(contract.retry.maxEventAgeMs)}`],
    ['Run and log retention', duration(contract.runRetentionMs)],
  ];
  return (
    <dl class="contract" aria-label="Contract">
      {rows.map(([k, v]) => (
        <div key={k} class="contract-row">
          <dt>{k}</dt>
          <dd>{k.endsWith('URL') ? <code>{v}</code> : v}</dd>
        </div>
      ))}
    </dl>
  );
}
