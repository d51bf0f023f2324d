/**
 * A version's template (docs/adr/0030-function-templates.md): a runtime specialized like any
 * instance (its box, its uid, its module imported) that never takes a call. The pool makes one in
 * the background for a version whose cold start's init took at least `templateMinInitMs`, and
 * passes it to the host when that version scales out: the host forks the new instance from it, so
 * the instance starts with the module already imported.
 *
 * Invariants:
 * - A template is never an Instance: it is in no group's `instances`, never leased, and does not
 *   count toward any instance cap (one per hot version at most).
 * - Dropped (deploy, idle, close) it forks no more and exits after the last instance it forked:
 *   those share its box and must not die with it. Only a template that never became ready is
 *   killed at once.
 * - Whatever goes wrong with it, calls do not notice: the host falls back to a generic runtime.
 *   A template that ends without being dropped is not replaced (its version scales out as before).
 */
import type { KillCause, ProcessExit, ProcessListener, RuntimeProcess } from './runtime-process.js';
import type { HostedRuntime, Placement } from './host/types.js';
import type { FunctionSpec, RuntimeMessage } from '../protocol/index.js';

/** What a template needs of its version (a FunctionGroup). */
export interface TemplateVersion {
  readonly spec: FunctionSpec;
  placement(): Placement;
}

/** As poolmgr/instance.ts: frames an honest template never sends, let through before it is killed. */
const MAX_UNASKED_FRAMES = 16;
const DROPPED: KillCause = { code: 'SHUTTING_DOWN', class: null, type: 'Shutdown', message: 'the template was dropped' };

export class FunctionTemplate implements ProcessListener {
  private state: 'starting' | 'ready' | 'dead' = 'starting';
  private dropped = false;
  /** Frames other than the specialization's answer and `forkExit`s, so far. */
  private unasked = 0;
  private specializeId = -1;
  private timer: NodeJS.Timeout | undefined;
  /** The runtime's reason for refusing to be a template, when it said one. */
  private refusal: string | null = null;

  constructor(
    readonly group: TemplateVersion,
    private readonly proc: RuntimeProcess,
    private readonly initTimeoutMs: number,
    /**
     * Told once, when the template's process is gone; `failed`: it ended without being dropped (the
     * version gets no other); `refusal`: why its runtime refused to be one (threads or descriptors at import).
     */
    private readonly onGone: (tpl: FunctionTemplate, failed: boolean, refusal: string | null) => void,
  ) {
    proc.listener = this;
    proc.ready.then(() => this.specialize(), () => {});
  }

  /** True while the host may fork from it. */
  get usable(): boolean {
    return this.state === 'ready' && !this.dropped;
  }

  get hosted(): HostedRuntime {
    return this.proc.hosted;
  }

  /** Forks no more; exits once the instances it forked are gone (at once if none). */
  drop(): void {
    if (this.dropped || this.state === 'dead') return;
    this.dropped = true;
    if (this.state === 'starting') {
      this.proc.kill(DROPPED);
      return;
    }
    this.proc.send({ t: 'shutdown', id: this.proc.nextId() });
    this.proc.flush();
    this.proc.retireTemplate(); // it may ignore the shutdown: the host ends it after its last fork
  }

  onMessage(_proc: RuntimeProcess, msg: RuntimeMessage): void {
    if (msg.t === 'specialized' && msg.id === this.specializeId && this.state === 'starting') {
      clearTimeout(this.timer);
      this.state = 'ready';
    } else if (msg.t === 'error' && msg.id === this.specializeId) {
      if (msg.error.type === 'NotForkable' && typeof msg.error.message === 'string') this.refusal = msg.error.message.slice(0, 1000);
      this.proc.kill({ code: 'FUNCTION_INIT_FAILED', class: 'init_error', type: 'TemplateRefused', message: 'the template could not be made' });
    } else if (msg.t !== 'forkExit' && ++this.unasked > MAX_UNASKED_FRAMES) {
      // An honest template sends nothing else; its import's code can write frames (poolmgr/instance.ts, MAX_UNASKED_FRAMES).
      this.proc.kill({ code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError', message: `the template sent more than ${MAX_UNASKED_FRAMES} frames nobody asked for` });
    }
    // forkExit is the host's (process-host.ts reads it beside us).
  }

  onExit(_proc: RuntimeProcess, _exit: ProcessExit): void {
    // Not dropped: it crashed, refused (threads at import) or the host ended it after a failed fork.
    const failed = !this.dropped;
    clearTimeout(this.timer);
    this.state = 'dead';
    this.onGone(this, failed, failed ? this.refusal : null);
  }

  private specialize(): void {
    if (this.state !== 'starting' || this.dropped) return;
    let box;
    try {
      box = this.proc.place({ ...this.group.placement(), template: true });
    } catch (err) {
      this.proc.kill({ code: 'RUNTIME_UNAVAILABLE', class: null, type: 'PlacementFailed', message: (err as Error).message });
      return;
    }
    this.specializeId = this.proc.nextId();
    const spec = this.group.spec;
    this.proc.send(box === null
      ? { t: 'specialize', id: this.specializeId, fn: spec, template: true }
      : { t: 'specialize', id: this.specializeId, fn: spec, box, template: true });
    this.timer = setTimeout(() => this.proc.kill(DROPPED), this.initTimeoutMs);
  }
}
