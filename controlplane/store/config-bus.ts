/**
 * ConfigBus: tells every platform process sharing a store that function configuration or tokens
 * changed, so each updates its in-memory registry and token index (docs/stores.md, "Config
 * propagation"). Production publishes on Redis pub/sub (./production/config-bus.ts); the embedded
 * default has one process, so its bus delivers nothing. A process that (re)connects is told to
 * resync everything from the store: a message missed while it was away is never needed.
 */

/** What changed: one function (any setting, deploy, status, delete), one workspace (quotas, delete) or the set of live tokens. */
export type ConfigChange =
  /**
   * `gone`: the function was deleted; the others stop serving it before their store read (which
   * fails while the store is what failed the delete's cleanup: ADR 0156).
   */
  | { kind: 'function'; name: string; gone?: true }
  | { kind: 'workspace'; name: string }
  | { kind: 'tokens' };

export interface ConfigListener {
  /** Another process changed this. Called in order of arrival; the listener reads the store. */
  changed(change: ConfigChange): void;
  /** The bus (re)connected: what was missed is unknown, so read everything again. */
  resync(): void;
}

export interface ConfigBus {
  /** Tells the other processes; never throws, never waits (a failure is logged by the adapter). */
  publish(change: ConfigChange): void;
  /** Starts delivering changes made by other processes to `listener`. */
  start(listener: ConfigListener): Promise<void>;
  close(): Promise<void>;
  /** True when no other process shares the store (nothing it holds can be behind the store). */
  readonly local?: boolean;
}

/** One process: nobody else to tell. */
export class LocalConfigBus implements ConfigBus {
  readonly local = true;
  publish(): void {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

const KINDS = new Set(['function', 'workspace', 'tokens']);

/** Parses a message from the wire; null for anything malformed. */
export function parseConfigMessage(text: string): { origin: string; change: ConfigChange } | null {
  try {
    const msg = JSON.parse(text) as { origin?: unknown; change?: { kind?: unknown; name?: unknown; gone?: unknown } };
    const change = msg.change;
    if (typeof msg.origin !== 'string' || change === undefined || !KINDS.has(String(change.kind))) return null;
    if (change.kind === 'function' || change.kind === 'workspace') {
      if (typeof change.name !== 'string') return null;
      if (change.kind === 'function' && change.gone === true) return { origin: msg.origin, change: { kind: 'function', name: change.name, gone: true } };
      return { origin: msg.origin, change: { kind: change.kind, name: change.name } };
    }
    return { origin: msg.origin, change: { kind: 'tokens' } };
  } catch {
    return null;
  }
}
