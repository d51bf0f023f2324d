/** The `data:` line of the `up` and `dev` banners (cli/describe-data.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeData } from '../../cli/describe-data.js';

describe('describeData', () => {
  it('says off when FP_DATA=off, missing when nothing was found, and what serves context.db otherwise', () => {
    const at = { stateDir: '/s' };
    assert.match(describeData({ ...at, data: null, config: { data: 'off' } }), /^off \(FP_DATA=off\)/);
    assert.match(describeData({ ...at, data: null, config: { data: 'auto' } }), /^none: no FerretDB found/);
    assert.match(describeData({ ...at, data: { backend: 'external' } as never, config: { data: 'auto' } }), /^FP_DATA_MONGO_URL/);
    assert.match(describeData({ ...at, data: { backend: 'ferretdb' } as never, config: { data: 'auto' } }), /^FerretDB, started here \(\/s\/data\/ferretdb\)/);
  });

  it('in production mode names FP_DATA_MONGO_URL, not FerretDB missing (ADR 0109)', () => {
    const line = describeData({ stateDir: '/s', data: null, config: { data: 'auto', store: 'production' } });
    assert.match(line, /^none: production mode starts no FerretDB of its own .*FP_DATA_MONGO_URL/);
  });
});
