/**
 * Why a platform has no database server for data bindings, as DATA_BACKEND_NOT_CONFIGURED says it
 * (new-user round 6: under FP_DATA=off it said to install FerretDB, which was installed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataOffReason } from '../../platform/data.js';

describe('dataOffReason', () => {
  it('names FP_DATA=off, production without FP_DATA_MONGO_URL, no FerretDB, and pods, each with its next step', () => {
    assert.match(dataOffReason({ data: 'off', store: 'embedded' }, false), /^FP_DATA=off turned them off at its start: start it again without FP_DATA=off/);
    assert.match(dataOffReason({ data: 'auto', store: 'production' }, false), /^production mode starts no FerretDB of its own .*set FP_DATA_MONGO_URL .*, and start it again$/);
    assert.match(dataOffReason({ data: 'auto', store: 'embedded' }, false), /^no FerretDB was found at its start .*installs FerretDB \(bash scripts\/services\.sh\) and starts the platform again/);
    assert.match(dataOffReason({ data: 'auto', store: 'embedded' }, true), /on Kubernetes/);
    // Off wins over the others: it is what the operator chose.
    assert.match(dataOffReason({ data: 'off', store: 'production' }, true), /^FP_DATA=off/);
  });
});
