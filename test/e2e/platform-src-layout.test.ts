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

  it('takes the name the project itself runs it by (shop.api:handler, as uvicorn --app-dir src and an installed package): imported from src', async () => {
    // Apps round 12: upload refused it (ENTRYPOINT_NOT_FOUND), and so did validate.
    await createFunction(h.api, 'own');
    await upload(h.api, 'own', {
      'src/shop/__init__.py': '',
      'src/shop/prices.py': py('PRICE = 7'),
      'src/shop/api.py': py('from shop.prices import PRICE', 'def handler(event, context):', '    return {"price": PRICE, "module": __name__}'),
    }, { entrypoint: 'shop.api:handler' });
    await deploy(h.api, 'own');
    assert.deepEqual(await (await fetch(`${h.url}/fn/own/`)).json(), { price: 7, module: 'shop.api' });
    // A module of that name at the top level is the one imported, as before.
    await createFunction(h.api, 'top');
    await upload(h.api, 'top', {
      'shop/__init__.py': '',
      'shop/api.py': py('def handler(event, context):', '    return {"from": "top"}'),
      'src/shop/__init__.py': '',
      'src/shop/api.py': py('def handler(event, context):', '    return {"from": "src"}'),
    }, { entrypoint: 'shop.api:handler' });
    await deploy(h.api, 'top');
    assert.deepEqual(await (await fetch(`${h.url}/fn/top/`)).json(), { from: 'top' });
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
