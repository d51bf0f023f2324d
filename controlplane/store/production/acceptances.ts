/**
 * The acceptance records on MongoDB (`async_accepted`, one document per run accepted and not yet
 * ended, `_id` the run id; ADR 0225): written before the 202, so a run Redis lost with its data is
 * queued again (controlplane/async/runs/reaccept.ts). The collection holds only runs in flight, so
 * `list` reads it whole. The payload is kept as Redis keeps it (the request envelope, not sealed).
 */
import { Binary } from 'mongodb';
import type { AcceptanceRecords } from '../types.js';
import type { MongoContext } from './context.js';

export function mongoAcceptances(ctx: MongoContext): AcceptanceRecords {
  const col = ctx.col.accepted;
  return {
    async add(run) {
      ctx.check();
      const { runId, payload, ...rest } = run;
      await col.insertOne({ _id: runId, ...rest, payload: new Binary(payload) });
    },
    async remove(runId) {
      ctx.check();
      await col.deleteOne({ _id: runId });
    },
    async mark(runId, claimedAt, retry) {
      ctx.check();
      await col.updateOne({ _id: runId }, { $set: { claimedAt, ...(retry !== undefined ? { attempt: retry.attempt, notBefore: retry.notBefore } : {}) } });
    },
    async list() {
      ctx.check();
      const docs = await col.find({}).toArray();
      return docs
        .map(({ _id, payload, ...rest }) => ({ ...rest, runId: _id, payload: Buffer.from(payload.buffer) }))
        .sort((a, b) => a.acceptedAt - b.acceptedAt);
    },
  };
}
