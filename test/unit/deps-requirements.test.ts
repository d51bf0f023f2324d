/** Declared dependencies (issue 10): the upload-time check of requirements.txt and the platform's deps options. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { credentialRedactor, redactedLines } from '../../controlplane/deps/builder.js';
import { checkRequirementsFile, checkRequirementsTxt, depsClosure, depsFilesOf, includePath, requirementProblem } from '../../controlplane/deps/requirements.js';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { isPlatformError } from '../../protocol/index.js';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

const HASH = '8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254';
/**
 * Red team 4, F4: a pyproject.toml string whose `--hash=` swallowed a line break, the next line a
 * pip option (`\x1f` kept pip's first line valid); the builder wrote it whole into pip's input.
 */
const SMUGGLED = [
  `six==1.16.0 --hash=sha256:${HASH} --hash=sha256:00\x1f--hash=\n-r/proc/self/cmdline`,
  `six==1.16.0 --hash=sha256:${HASH} --hash=sha256:00\x1f--hash=\n--no-binary=:all:`,
  'six ; python_version == "\n-r/proc/self/cmdline"',
  'six ; python_version == " -r/proc/self/cmdline"',
  'six\u2028-r/proc/self/cmdline',
  'six\x00',
  `six --hash=sha256:${HASH} --no-binary=:all:`,
  'six --hash=sha256:00',
  `six --hash=sha256:${HASH} -r/proc/self/cmdline`,
];

/** runtime/fp_deps/requirements.py `check` on each text, on the runtime's interpreter: [name, line for pip] or the refusal. */
function pythonCheck(texts: readonly string[], hashes: boolean): (string[] | string)[] {
  const script = [
    'import json, sys',
    'sys.path.insert(0, sys.argv[1])',
    'from fp_deps.requirements import BadRequirement, check',
    'def one(t):',
    '    try:',
    '        return list(check(t, "f", 1, sys.argv[2] == "1"))',
    '    except BadRequirement as err:',
    '        return err.reason',
    'print(json.dumps([one(t) for t in json.loads(sys.stdin.read())]))',
  ].join('\n');
  const out = execFileSync(join(repoRoot(), '.venv', 'bin', 'python'), ['-I', '-c', script, repoPath('runtime'), hashes ? '1' : '0'], { input: JSON.stringify(texts), encoding: 'utf8' });
  return JSON.parse(out) as (string[] | string)[];
}

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

  it('`-e .` (the project installed editable) says it is not needed and what to do instead, in the upload check and the builder alike (newcomer round 12)', () => {
    const texts = ['-e .', '--editable .', '-e=.', '-e ./src'];
    const advice = /^an editable install \(-e\) is not needed: the folder is uploaded and imported as it is \(a src layout from src\/, as `uvicorn --app-dir src` does\); remove the line/;
    for (const text of texts) assert.match(requirementProblem(text) ?? '', advice, text);
    for (const [i, got] of pythonCheck(texts, true).entries()) {
      assert.equal(typeof got, 'string', texts[i]!);
      assert.equal(got, requirementProblem(texts[i]!), texts[i]!);
    }
    // After a requirement it is still an option no requirement takes.
    assert.match(requirementProblem('six -e .') ?? '', /^options are not allowed \(-e\)/);
  });

  it('refuses control characters and any option but a valid --hash after a requirement (red team of 2026-12-05, second round)', () => {
    for (const text of SMUGGLED) assert.notEqual(requirementProblem(text), null, JSON.stringify(text));
    assert.equal(requirementProblem(`six==1.16.0 --hash sha256:${HASH} --hash=sha256:${HASH}`), null);
    assert.equal(requirementProblem(`--hash=sha256:${HASH}`), 'hash options without a requirement');
    // A form feed or a lone \r ends a line as it does for pip: each part is a line of its own.
    assert.throws(() => checkRequirementsTxt('six\f--no-binary=:all:\n'), (err: unknown) => isPlatformError(err) && err.details['line'] === 2);
    assert.throws(() => checkRequirementsTxt('six ; python_version == "\x1f -r/etc/passwd"\n'), (err: unknown) => isPlatformError(err) && err.code === 'DEPS_REQUIREMENT_INVALID');
  });

  it('the builder refuses the same, and hands pip the parsed requirement, not the declared text', () => {
    const refused = pythonCheck(SMUGGLED, true);
    refused.forEach((r, i) => assert.equal(typeof r, 'string', `${JSON.stringify(SMUGGLED[i])} -> ${JSON.stringify(r)}`));
    assert.deepEqual(pythonCheck([
      `Six == 1.16.0 \t --hash sha256:${HASH.toUpperCase()}`,
      'uvicorn[standard]==0.30.0 ; python_version >= "3.9"',
    ], true), [
      ['six', `Six==1.16.0 --hash=sha256:${HASH}`],
      ['uvicorn', 'uvicorn[standard]==0.30.0; python_version >= "3.9"'],
    ]);
    // A pyproject.toml string is PEP 508 and nothing else: no options, hashes included.
    const pyproject = pythonCheck([`six==1.16.0 --hash=sha256:${HASH}`, 'six==1.16.0'], false);
    assert.match(String(pyproject[0]), /a pyproject\.toml requirement takes no options/);
    assert.deepEqual(pyproject[1], ['six', 'six==1.16.0']);
  });

  it('finds the declaration files at the root only', () => {
    const files = [{ path: 'pyproject.toml' }, { path: 'lib/requirements.txt' }, { path: 'requirements.txt' }, { path: 'main.py' }];
    assert.deepEqual(depsFilesOf(files).map((f) => f.path), ['requirements.txt', 'pyproject.toml']);
  });
});

describe('build output', () => {
  it('never shows the index credentials: any URL\'s password, and the platform\'s index user info anywhere', () => {
    const redact = credentialRedactor(['https://ci-reader:S3CRET%2FTOKEN@pypi.example/simple', null, 'http://plain.example/simple']);
    const cmdline = 'python\x00-m\x00pip\x00--index-url\x00https://ci-reader:S3CRET%2FTOKEN@pypi.example/simple\x00-r\x00/build/requirements.in\n';
    assert.equal(redact(cmdline), cmdline.replace('S3CRET%2FTOKEN', '****'));
    assert.equal(redact('token S3CRET/TOKEN and S3CRET%2FTOKEN\n'), 'token **** and ****\n');
    assert.equal(redact('Looking in indexes: https://u:p@other.example/simple\n'), 'Looking in indexes: https://u:****@other.example/simple\n');
    assert.equal(redact('http://plain.example/simple a:b@c\n'), 'http://plain.example/simple a:b@c\n');
    assert.equal(credentialRedactor(['https://glpat-TOKEN123@git.example/simple'])('from https://glpat-TOKEN123@git.example/simple\n'), 'from https://****@git.example/simple\n');
    const started = Date.now();
    redact(`://${'a'.repeat(200_000)}:${'b'.repeat(200_000)}`);
    assert.ok(Date.now() - started < 500, 'linear on hostile text');
  });

  it('lets out whole lines, and a line that never ends past 64 KiB but its last KiB: bounded, a secret at the cut still starred', () => {
    const redact = credentialRedactor(['https://ci-reader:S3CRET%2FTOKEN@pypi.example/simple']);
    const out: string[] = [];
    const note = redactedLines(redact, (clean) => out.push(clean));
    note('one line\nhalf');
    assert.deepEqual(out, ['one line\n']);
    // A build script printing 1 MB without a newline, the secret straddling two writes.
    for (let i = 0; i < 16; i++) note('x'.repeat(64 * 1024));
    assert.ok(out.join('').length >= 16 * 64 * 1024 - 1024, 'let out as it comes: at most a KiB waits'); // it all waited for a newline
    note('S3CRET%2F');
    note('TOKEN tail');
    note('', true);
    const all = out.join('');
    assert.ok(!all.includes('S3CRET'), 'the secret is never shown');
    assert.equal(all.length, 'one line\nhalf'.length + 16 * 64 * 1024 + '**** tail'.length);
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

/** runtime/fp_deps/requirements.py `declared_with_constraints` over a folder given as {path: text}: [requirements, constraints] or the refusal. */
function pythonDeclared(files: Record<string, string>, timeoutMs?: number): unknown {
  const script = [
    'import json, sys',
    'sys.path.insert(0, sys.argv[1])',
    'from fp_deps.requirements import BadRequirement, declared_with_constraints',
    'files = json.loads(sys.stdin.read())',
    'try:',
    '    reqs, cons = declared_with_constraints(files.get)',
    '    print(json.dumps([[r[1] for r in reqs], [c[1] for c in cons]]))',
    'except BadRequirement as err:',
    '    print(json.dumps({"file": err.file, "line": err.line}))',
  ].join('\n');
  return JSON.parse(execFileSync(join(repoRoot(), '.venv', 'bin', 'python'), ['-I', '-c', script, repoPath('runtime')], { input: JSON.stringify(files), encoding: 'utf8', ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) }));
}

describe('-r and -c in requirements.txt (apps round 7)', () => {
  it('resolve against the naming file, inside the folder only, the same in the control plane and the builder', () => {
    const cases: [string, string, string | null][] = [
      ['requirements.txt', 'base.txt', 'base.txt'],
      ['requirements.txt', './reqs/base.txt', 'reqs/base.txt'],
      ['reqs/dev.txt', 'base.txt', 'reqs/base.txt'],
      ['reqs/dev.txt', '../common.txt', 'common.txt'],
      ['reqs/dev.txt', '../../x.txt', null],
      ['requirements.txt', '../x.txt', null],
      ['requirements.txt', 'a/../../x.txt', null],
      ['requirements.txt', '/etc/passwd', null],
      ['requirements.txt', '~/x', null],
      ['requirements.txt', '${HOME}/x', null],
      ['requirements.txt', 'https://example.com/r.txt', null],
      ['requirements.txt', 'C:\\x.txt', null],
      ['requirements.txt', '.', null],
    ];
    for (const [from, target, expected] of cases) {
      const got = includePath(from, target);
      assert.equal(typeof got === 'string' ? got : null, expected, `${from} -r ${target}`);
      const declared = pythonDeclared({ [from]: `-r ${target}\n`, ...(from === 'requirements.txt' ? {} : { 'requirements.txt': `-r ${from}\n` }), ...(expected === null ? {} : { [expected]: 'six\n' }) });
      assert.deepEqual(declared, expected === null ? { file: from, line: 1 } : [['six'], []], `python: ${from} -r ${target}`);
    }
  });

  it('the builder reads -r files in place and -c files as constraints, refusing cycles and missing files', () => {
    assert.deepEqual(pythonDeclared({
      'requirements.txt': '-r reqs/base.txt\n--constraint=c.txt\nrequests>=2\n',
      'reqs/base.txt': '-rextra.txt\nsix\n',
      'reqs/extra.txt': 'idna\n',
      'c.txt': 'six==1.16.0\n-c more/c2.txt\n',
      'more/c2.txt': 'idna<4\n',
    }), [['idna', 'six', 'requests>=2'], ['six==1.16.0', 'idna<4']]);
    assert.deepEqual(pythonDeclared({ 'requirements.txt': '-r a.txt\n', 'a.txt': '-r requirements.txt\n' }), { file: 'a.txt', line: 1 });
    assert.deepEqual(pythonDeclared({ 'requirements.txt': 'six\n-r gone.txt\n' }), { file: 'requirements.txt', line: 2 });
    assert.deepEqual(pythonDeclared({ 'requirements.txt': '-c c.txt\n', 'c.txt': '-r requirements.txt\n' }), { file: 'c.txt', line: 1 });
    // Without a folder to read from (runtime pins, other callers) -r is still an option, refused.
    assert.throws(() => checkRequirementsTxt('-r /etc/passwd\n'), (err: unknown) => isPlatformError(err) && err.code === 'DEPS_REQUIREMENT_INVALID');
  });

  it('reads a file named many times once: a fan of -r lines over nested files is not walked exponentially', { timeout: 60_000 }, async () => {
    // f0 names f1 300 times, f1 names f2 300 times, …: 300^11 walks when each name is followed again.
    const files: Record<string, string> = { 'requirements.txt': '-r f0.txt\n' };
    for (let i = 0; i < 12; i++) files[`f${i}.txt`] = i === 11 ? 'six\n' : `-r f${i + 1}.txt\n`.repeat(300) + `-c c${i}.txt\n`.repeat(300);
    for (let i = 0; i < 12; i++) files[`c${i}.txt`] = i === 11 ? 'six<2\n' : `-c c${i + 1}.txt\n`.repeat(300);
    assert.deepEqual(pythonDeclared(files, 30_000), [['six'], ['six<2']]);
    const entries = Object.keys(files).map((path) => ({ path }));
    const closure = await depsClosure(entries, async (file, constraints) => checkRequirementsFile(files[file.path]!, file.path, constraints).includes);
    assert.equal(closure.length, 25);
    // What one file's check returns (and the control plane caches per file) is one entry per path.
    assert.equal(checkRequirementsFile('-r a.txt\n'.repeat(100_000), 'requirements.txt').includes.length, 1);
    assert.throws(() => checkRequirementsFile(Array.from({ length: 40 }, (_, i) => `-r f${i}.txt\n`).join('')),
      (err: unknown) => isPlatformError(err) && err.code === 'DEPS_REQUIREMENT_INVALID' && err.details['line'] === 33);
  });
});
