/**
 * The Kubernetes install steps as written (docs/kubernetes.md, the chart's NOTES.txt) work as
 * pasted: the admin token is read from every gateway replica (it is printed once, by whichever
 * started first; `kubectl logs deploy/…` reads one Pod it picks, and `-l` alone only the last 10
 * lines of each), and `login` gets the token it cannot do without.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../cli/config.js';

const FILES = ['docs/kubernetes.md', 'deploy/helm/fastapi-platform/templates/NOTES.txt'];
const linesOf = (file: string): string[] => readFileSync(join(PACKAGE_ROOT, file), 'utf8').split('\n');

describe('Kubernetes install steps', () => {
  for (const file of FILES) {
    it(`${file}: the admin token is read from every gateway replica's whole log`, () => {
      const reads = linesOf(file).filter((l) => /kubectl .*\blogs\b.*\|\s*grep/.test(l));
      assert.ok(reads.length > 0, 'a step reads the admin token from the log');
      for (const line of reads) {
        assert.doesNotMatch(line, /logs (deploy|deployment)\//, line);
        assert.match(line, /-l [^|]*app\.kubernetes\.io\/component=gateway/, line);
        assert.match(line, /--tail=-1/, line);
      }
    });

    it(`${file}: every login step passes the token, or says to paste it at the prompt (never on the command line: red team round 27)`, () => {
      const logins = linesOf(file).filter((l) => /fastapi-platform login /.test(l));
      assert.ok(logins.length > 0);
      for (const line of logins) assert.match(line, /--token |paste the admin token .*at the prompt/, line);
    });
  }
});
