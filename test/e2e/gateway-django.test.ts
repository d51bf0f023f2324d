/**
 * A Django project through the real gateway at both of its addresses (docs/api-invoke.md, "One
 * instance serves both mount points"): `/fn/<name>/` (script prefix `/fn/<name>`) and the root of
 * its own host, `<name>.localhost` (no prefix). A relative `STATIC_URL` (`startproject`'s
 * `"static/"`) is prefixed by Django with the script prefix of the request that first read it, and
 * kept (in the settings and the staticfiles storage): checked in-process only until now, where one
 * instance takes both addresses. `reverse` is per request in Django itself. Served as WSGI
 * (`get_wsgi_application`) and as ASGI (`get_asgi_application`), one instance each, so every call
 * meets what the calls before it at the other address left.
 *
 * Django comes from runtime/requirements-dev.txt (the tests' venv); without it the file skips,
 * saying so (with `CI` set it fails).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { defaultPoolConfig } from '../../poolmgr/config.js';
import { fnName, py, request, useGateway } from './gateway-harness.js';

const SETTINGS = py(
  'from pathlib import Path',
  'BASE_DIR = Path(__file__).resolve().parent',
  'SECRET_KEY = "test-only"',
  'DEBUG = False',
  'ALLOWED_HOSTS = ["*"]',
  'ROOT_URLCONF = "site_urls"',
  'INSTALLED_APPS = ["django.contrib.staticfiles"]',
  'MIDDLEWARE = []',
  'DATABASES = {}',
  'STATIC_URL = "static/"',
  'MEDIA_URL = "media/"',
  'TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [BASE_DIR / "templates"]}]',
);

const URLS = py(
  'import asyncio, time',
  'from django.conf import settings',
  'from django.http import JsonResponse',
  'from django.shortcuts import render',
  'from django.templatetags.static import static',
  'from django.urls import path, reverse',
  'def page(request):',
  '    return render(request, "page.html", {"item": reverse("item", args=[3]), "media": settings.MEDIA_URL})',
  'def item(request, n):',
  '    return JsonResponse({"n": n})',
  'def links():',
  '    return [static("site.css"), settings.MEDIA_URL]',
  '# The links before and after a pause in which a call at the other mount point may come (concurrency 2).',
  'def slow(request):',
  '    before = links()',
  '    time.sleep(float(request.GET.get("s", "0")))',
  '    return JsonResponse({"before": before, "after": links()})',
  'async def aslow(request):',
  '    before = links()',
  '    await asyncio.sleep(float(request.GET.get("s", "0")))',
  '    return JsonResponse({"before": before, "after": links()})',
  'urlpatterns = [path("", page), path("item/<int:n>", item, name="item"), path("slow", slow), path("aslow", aslow)]',
);

const PAGE = '{% load static %}<link rel="stylesheet" href="{% static \'site.css\' %}"><a href="{{ item }}">item</a><img src="{{ media }}x.png">\n';

const entry = (kind: 'wsgi' | 'asgi'): string => py(
  'import os',
  'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")',
  `from django.core.${kind} import get_${kind}_application`,
  `app = get_${kind}_application()`,
);

function djangoSkip(): string | false {
  const found = spawnSync(defaultPoolConfig({}).pythonPath, ['-c', 'import django'], { stdio: 'ignore' }).status === 0;
  if (found) return false;
  if (process.env.CI) throw new Error('Django is not installed in the tests\' venv (runtime/requirements-dev.txt; bash scripts/setup.sh)');
  return 'Django is not installed in the tests\' venv (runtime/requirements-dev.txt; bash scripts/setup.sh)';
}

const KINDS = [{ kind: 'wsgi' as const, name: fnName('djw') }, { kind: 'asgi' as const, name: fnName('dja') }];
// The same projects at limits.concurrency 2, one instance: two calls at the two addresses in flight at once (loose4).
const CONCURRENT = [{ kind: 'wsgi' as const, name: fnName('djw2'), view: 'slow' }, { kind: 'asgi' as const, name: fnName('dja2'), view: 'aslow' }];
const FILES = (kind: 'wsgi' | 'asgi'): Record<string, string> => ({ 'main.py': entry(kind), 'site_settings.py': SETTINGS, 'site_urls.py': URLS, 'templates/page.html': PAGE });

describe('a Django project at /fn/<name>/ and at <name>.localhost', { skip: djangoSkip() }, () => {
  const h = useGateway(Object.fromEntries([
    // One instance: each call is served where the calls before it, at the other address, were.
    ...KINDS.map(({ kind, name }) => [name, { files: FILES(kind), manifest: 'entrypoint: main:app\nlimits:\n  maxInstances: 1' }]),
    ...CONCURRENT.map(({ kind, name }) => [name, { files: FILES(kind), manifest: 'entrypoint: main:app\nlimits:\n  maxInstances: 1\n  concurrency: 2' }]),
  ]));

  /** `view`'s links before and after its pause of `pause` s, called at `/fn/<name>/` or at the function's own host. */
  async function paused(name: string, view: string, at: 'prefix' | 'host', pause: number): Promise<{ before: string[]; after: string[] }> {
    const port = new URL(h.url).port;
    const res = at === 'prefix'
      ? await request(`${h.url}/fn/${name}/${view}?s=${pause}`)
      : await request(`http://127.0.0.1:${port}/${view}?s=${pause}`, { headers: { host: `${name}.localhost:${port}` } });
    assert.equal(res.status, 200, res.body.toString());
    return JSON.parse(res.body.toString()) as { before: string[]; after: string[] };
  }

  /** The URLs the page names, at `/fn/<name>/` or at the function's own host. */
  async function links(name: string, at: 'prefix' | 'host'): Promise<{ css: string; item: string; media: string }> {
    const port = new URL(h.url).port;
    const res = at === 'prefix'
      ? await request(`${h.url}/fn/${name}/`)
      : await request(`http://127.0.0.1:${port}/`, { headers: { host: `${name}.localhost:${port}` } });
    const html = res.body.toString();
    assert.equal(res.status, 200, html);
    const css = /<link rel="stylesheet" href="([^"]*)"/.exec(html)?.[1];
    const item = /<a href="([^"]*)"/.exec(html)?.[1];
    const media = /<img src="([^"]*)x.png"/.exec(html)?.[1];
    return { css: css!, item: item!, media: media! };
  }

  for (const { kind, name } of KINDS) {
    it(`${kind}: {% static %}, MEDIA_URL and reverse name the address each call came to, whichever came first`, async () => {
      const under = { css: `/fn/${name}/static/site.css`, item: `/fn/${name}/item/3`, media: `/fn/${name}/media/` };
      const root = { css: '/static/site.css', item: '/item/3', media: '/media/' };
      assert.deepEqual(await links(name, 'prefix'), under, 'the first call, under /fn/');
      assert.deepEqual(await links(name, 'host'), root, 'at its own host after a call under /fn/');
      assert.deepEqual(await links(name, 'prefix'), under, 'under /fn/ after a call at its host');
      assert.deepEqual(await links(name, 'host'), root);
    });
  }

  for (const { kind, name, view } of CONCURRENT) {
    it(`${kind} at concurrency 2: a call sees its own address while a call at the other one comes and goes (loose4)`, async () => {
      const under = [`/fn/${name}/static/site.css`, `/fn/${name}/media/`];
      const root = ['/static/site.css', '/media/'];
      assert.deepEqual(await paused(name, view, 'host', 0), { before: root, after: root }, 'warm: the pauses below overlap');
      for (const [first, second] of [['prefix', 'host'], ['host', 'prefix'], ['prefix', 'host']] as const) {
        const long = paused(name, view, first, 1.2);
        await new Promise((resolve) => setTimeout(resolve, 400));
        const short = await paused(name, view, second, 0);
        const own = (at: 'prefix' | 'host'): string[] => (at === 'prefix' ? under : root);
        assert.deepEqual(short, { before: own(second), after: own(second) }, `at ${second} while a call at ${first} was in flight`);
        assert.deepEqual(await long, { before: own(first), after: own(first) }, `at ${first}, after a call at ${second} came and went`);
      }
    });
  }
});
