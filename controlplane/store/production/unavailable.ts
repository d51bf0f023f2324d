/**
 * Driver failures at the adapter's edge: "no MongoDB server answered" (network errors, server
 * selection timeouts, a closed topology) becomes StoreError STORE_UNAVAILABLE with a plain message,
 * so the API answers 503 with a stable code and never the driver's own words. The driver's error
 * stays as the `cause` (for logs). Matched by the driver's classes: they are thrown in this process,
 * by the driver this adapter loaded, and carry no stable code of their own for "unreachable".
 */
import { MongoNetworkError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerClosedError, MongoSystemError, MongoTopologyClosedError } from 'mongodb';
import { StoreError } from '../errors.js';

const UNREACHABLE = [MongoNetworkError, MongoSystemError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerClosedError, MongoTopologyClosedError];

function translate(err: unknown): unknown {
  if (!UNREACHABLE.some((kind) => err instanceof kind)) return err;
  return new StoreError('STORE_UNAVAILABLE', 'the store (MongoDB) did not answer; try again shortly', {}, err);
}

/** The port with every method's "unreachable" failures turned into STORE_UNAVAILABLE (sync methods stay sync). */
export function unavailableAsStoreError<P extends object>(port: P): P {
  const out = { ...port } as Record<string, unknown>;
  for (const [name, value] of Object.entries(port)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => unknown;
    out[name] = (...args: unknown[]): unknown => {
      const result = method.apply(port, args);
      return result instanceof Promise ? result.catch((err: unknown) => { throw translate(err); }) : result;
    };
  }
  return out as P;
}
