/**
 * A body over the limit (413 PAYLOAD_TOO_LARGE) says what to do next, not only the limit (new-user
 * round 11: a FastAPI app's large UploadFile, which uvicorn takes, got "larger than 6 MiB" alone).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tooLarge } from '../../gateway/body-refusals.js';

describe('tooLarge', () => {
  it('names the limit and passing large data by reference, with the code and the limit in bytes', () => {
    const err = tooLarge(6 * 1024 * 1024);
    assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(err.details.limitBytes, 6291456);
    assert.match(err.message, /^the request body is larger than 6 MiB \(6291456 bytes\), this platform's limit for the route: send large data by reference instead \(upload it to object storage and pass its URL or key; docs\/errors\.md\)$/);
  });
});
