/** The contract card (docs/api.md, "contract"): what a function may count on. */
import type { JSX } from 'preact';
import type { Contract } from './api.js';
import { bytes, duration, ms } from './format.js';

export function ContractCard({ contract, asyncUrl }: { contract: Contract; asyncUrl?: string | undefined }): JSX.Element {
  const rows: [string, string][] = [
    ['Invoke URL', contract.invokeUrl],
    ...(asyncUrl !== undefined ? [['Async URL', asyncUrl] as [string, string]] : []),
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
