/**
 * A src layout (`src/shop/…` without `src/__init__.py`, entrypoint `src.shop.api:app`) runs as
 * under `uvicorn --app-dir src`: the module's own absolute imports (`from shop.prices import …`)
 * resolve (fp_runtime/specialize.py src_layout). It failed at `import shop` (helper round,
 * 2026-12-05). A `src` that is a package of its own keeps its name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, py, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

describe('a src layout', () => {
  it('imports the entrypoint from src, so its absolute imports of its own package work; the start check passes', async () => {
    await createFunction(h.api, 'shop');
    await upload(h.api, 'shop', {
      'src/shop/__init__.py': '',
      'src/shop/prices.py': py('PRICE = 42'),
      'src/shop/api.py': py('from shop.prices import PRICE', 'import shop', 'def handler(event, context):', '    return {"price": PRICE, "package": shop.__name__}'),
    }, { entrypoint: 'src.shop.api:handler' });
    await deploy(h.api, 'shop');
    const res = await fetch(`${h.url}/fn/shop/`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { price: 42, package: 'shop' });
  });

  it('a src that is a package (src/__init__.py) is imported as src.*, as before', async () => {
    await createFunction(h.api, 'pkg');
    await upload(h.api, 'pkg', {
      'src/__init__.py': '',
      'src/app.py': py('from src.helpers import NAME', 'def handler(event, context):', '    return {"name": NAME, "module": __name__}'),
      'src/helpers.py': py('NAME = "helpers"'),
    }, { entrypoint: 'src.app:handler' });
    await deploy(h.api, 'pkg');
    assert.deepEqual(await (await fetch(`${h.url}/fn/pkg/`)).json(), { name: 'helpers', module: 'src.app' });
  });
});
