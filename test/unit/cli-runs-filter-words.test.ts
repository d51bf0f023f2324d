/**
 * `runs` with filters that match nothing says what it was filtered to (new-user round 6): `--trigger
 * cron` read "No runs yet." and `--status failed --trigger cron` "No failed runs." for a function
 * with failed http runs; `--status bogus` did not say what it got, where `--trigger` did.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: runs, filtered to nothing', () => {
  const api = stubApi('fp-cli-runs-words-', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'fp-api': '1' });
    if (req.url?.startsWith('/api/v1/functions/orders') === true) return res.end(JSON.stringify({ function: { name: 'orders' } }));
    res.end(JSON.stringify({ items: [], nextCursor: null })); // every listing: nothing matches
  });

  it('names the trigger and the status it was filtered to', async () => {
    const cron = await api.cli(['runs', 'orders', '--trigger', 'cron']);
    assert.equal(cron.code, EXIT.OK, cron.stderr);
    assert.equal(cron.stdout, 'No cron runs.\n');
    const failed = await api.cli(['runs', 'orders', '--status', 'failed', '--trigger', 'cron', '--since', '1h']);
    assert.equal(failed.stdout, 'No failed cron runs started since 1h.\n');
    assert.equal((await api.cli(['runs', 'orders'])).stdout, 'No runs yet.\n');
    const queued = await api.cli(['runs', 'orders', '--status', 'queued', '--trigger', 'cron']);
    assert.equal(queued.stdout, 'No queued cron runs.\n');
  });

  it('--status that is no state says what it got', async () => {
    const r = await api.cli(['runs', 'orders', '--status', 'bogus']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /--status must be one of .*, got "bogus"/);
  });
});
