/** Checks shared by both adapters, so they refuse the same inputs with the same code. */
import { QueueError } from './errors.js';
import type { NewJob } from './types.js';

/** Throws QUEUE_INVALID for a job no adapter may store. */
export function checkJob(job: NewJob): void {
  const bad = (field: string): never => {
    throw new QueueError('QUEUE_INVALID', `bad job field: ${field}`, { field });
  };
  if (typeof job.runId !== 'string' || job.runId === '' || job.runId.length > 200) bad('runId');
  if (typeof job.function !== 'string' || job.function === '') bad('function');
  if (!(job.payload instanceof Uint8Array)) bad('payload');
  if (job.attempt !== undefined && (!Number.isSafeInteger(job.attempt) || job.attempt < 1)) bad('attempt');
  if (job.notBefore !== undefined && !Number.isFinite(job.notBefore)) bad('notBefore');
  if (job.bornAt !== undefined && !Number.isFinite(job.bornAt)) bad('bornAt');
  if (job.idempotencyKey !== undefined && (job.idempotencyKey === '' || job.idempotencyKey.length > 400)) bad('idempotencyKey');
  if (job.fingerprint !== undefined && (typeof job.fingerprint !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(job.fingerprint))) bad('fingerprint');
}

/** Throws QUEUE_INVALID unless `max` is a positive integer. */
export function checkMax(max: number): void {
  if (!Number.isSafeInteger(max) || max < 1) throw new QueueError('QUEUE_INVALID', 'max must be a positive integer', { field: 'max' });
}

export function positiveMs(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new QueueError('QUEUE_INVALID', `${field} must be a positive integer`, { field });
  return v;
}
