/** Declared dependencies (issue 10): the upload-time check of requirements.txt and the platform's deps options. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequirementsTxt, depsFilesOf, requirementProblem } from '../../controlplane/deps/requirements.js';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { isPlatformError } from '../../protocol/index.js';

describe('requirements.txt at upload', () => {
  it('accepts specifiers, extras, markers, comments, continuations and per-line hashes', () => {
    const text = [
      '# deps',
      'requests>=2.31,<3  # http',
      'uvicorn[standard]==0.30.0 ; python_version >= "3.9"',
      'six==1.16.0 \\',
      '    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254',
      '',
      'zope.interface',
    ].join('\n');
    assert.equal(checkRequirementsTxt(text), 4);
    assert.equal(checkRequirementsTxt('# nothing\n\n'), 0);
  });

  it('refuses options, URLs, direct references and paths, naming the line', () => {
    for (const [line, bad] of [
      ['-r other.txt', true], ['--index-url https://evil.example/simple', true], ['-e .', true],
      ['git+https://example.com/x.git', true], ['pkg @ https://example.com/pkg.whl', true], ['./vendor/pkg', true],
      ['/abs/pkg.whl', true], ['~pkg', true], ['=bad', true], ['requests', false],
    ] as const) {
      assert.equal(requirementProblem(line) !== null, bad, line);
    }
    try {
      checkRequirementsTxt('requests\n\n--extra-index-url http://x/simple\n');
      assert.fail('not refused');
    } catch (err) {
      assert.ok(isPlatformError(err));
      assert.equal(err.code, 'DEPS_REQUIREMENT_INVALID');
      assert.equal(err.details['line'], 3);
    }
  });

  it('finds the declaration files at the root only', () => {
    const files = [{ path: 'pyproject.toml' }, { path: 'lib/requirements.txt' }, { path: 'requirements.txt' }, { path: 'main.py' }];
    assert.deepEqual(depsFilesOf(files).map((f) => f.path), ['requirements.txt', 'pyproject.toml']);
  });
});

describe('dependency options', () => {
  it('parse from the environment and refuse a builder uid inside the function range', () => {
    const c = loadConfig({ FP_DEPS_INDEX_URL: 'none', FP_DEPS_EXTRA_INDEX_URLS: 'https://a.example/simple, http://b.example:3141/simple', FP_DEPS_FIND_LINKS: '/srv/wheels', FP_DEPS_ALLOW_SDIST: '1' });
    assert.deepEqual([c.depsIndexUrl, c.depsFindLinks, c.depsAllowSdist], ['none', '/srv/wheels', true]);
    assert.throws(() => loadConfig({ FP_DEPS_BUILDER_UID: '600100' }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.key === 'FP_DEPS_BUILDER_UID'));
    assert.throws(() => loadConfig({ FP_DEPS_FIND_LINKS: 'wheels' }), ConfigError);
    assert.throws(() => loadConfig({ FP_DEPS_EXTRA_INDEX_URLS: 'ftp://x' }), ConfigError);
  });
});
