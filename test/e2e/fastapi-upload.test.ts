/**
 * A FastAPI `UploadFile` of about 8 MB through multipart (apps round 31, issue 10), compared with
 * the same app under uvicorn 0.54: within the platform's body limit (`maxBodyBytes`, here 9 MiB;
 * 6 MiB by default, docs/fastapi-app.md) the app reads every byte, as under uvicorn; just above it
 * the gateway answers `413 PAYLOAD_TOO_LARGE` before the app runs (uvicorn takes any size). The app
 * declares python-multipart (FastAPI needs it for a form), built from PyPI by the dependency
 * builder: skipped when PyPI is not reachable.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pypiReachable } from '../helpers/pypi.js';
import { createFunction, deploy, depsSettled, fnName, py, upload, usePlatform } from './platform-harness.js';

const MIB = 1024 * 1024;
const LIMIT = 9 * MIB;

const APP = py(
  'import hashlib',
  'from fastapi import FastAPI, File, Form, UploadFile',
  '',
  'app = FastAPI()',
  '',
  '@app.post("/upload")',
  'async def take(file: UploadFile = File(...), note: str = Form("")):',
  '    digest, size = hashlib.sha256(), 0',
  '    while chunk := await file.read(65536):',
  '        digest.update(chunk)',
  '        size += len(chunk)',
  '    return {"name": file.filename, "type": file.content_type, "size": size, "sha256": digest.hexdigest(), "note": note}',
);

const skip = (await pypiReachable('python-multipart')) ? false : 'PyPI is not reachable (the app declares python-multipart)';

describe('an UploadFile of about 8 MB through multipart', { skip, timeout: 180_000 }, () => {
  const h = usePlatform({ poolSize: 1, maxBodyBytes: LIMIT });
  const name = fnName('upload');

  const post = (data: Buffer): Promise<Response> => {
    const form = new FormData();
    form.append('note', 'cover');
    form.append('file', new Blob([new Uint8Array(data)], { type: 'application/octet-stream' }), 'big.bin');
    return fetch(`${h.url}/fn/${name}/upload`, { method: 'POST', body: form });
  };

  it('is read whole by the app within the body limit, as under uvicorn', async () => {
    await createFunction(h.api, name);
    const version = await upload(h.api, name, { 'main.py': APP, 'requirements.txt': 'python-multipart\n' }, { entrypoint: 'main:app' });
    assert.equal((await depsSettled(h.api, name, version, 150_000)).state, 'ready');
    await deploy(h.api, name, version);
    const data = randomBytes(8_000_000);
    const res = await post(data);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      name: 'big.bin', type: 'application/octet-stream', size: data.length, sha256: createHash('sha256').update(data).digest('hex'), note: 'cover',
    });
  });

  it('just above the limit: 413 PAYLOAD_TOO_LARGE with the limit, the app not called', async () => {
    const res = await post(randomBytes(LIMIT)); // the file alone is the limit; the form's framing goes past it
    assert.equal(res.status, 413);
    const body = await res.json() as { error: { code: string; limitBytes?: number } };
    assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
  });
});
