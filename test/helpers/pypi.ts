/**
 * Whether the dependency builder can reach PyPI, for tests that build a real package from it
 * (skipped otherwise): a HEAD of the package's simple page, checked with the CA bundle the builder
 * verifies the index with (FP_DEPS_INDEX_CA's default).
 */
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';

export function pypiReachable(packageName: string): Promise<boolean> {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  return new Promise((resolve) => {
    const req = https.request(`https://pypi.org/simple/${packageName}/`, { method: 'HEAD', timeout: 5_000, ...(existsSync(bundle) ? { ca: readFileSync(bundle) } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
