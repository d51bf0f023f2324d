/**
 * A deploy refused because the app's import reads env the function lacks (apps round 13):
 * cli/start-check.ts names the variables and what sets them. The os.environ case runs end to end
 * in test/e2e/cli.test.ts; pydantic-settings is not installable offline there, so its error is
 * the text a real refusal carried (pydantic-settings 2.16.3, pydantic 2.14.4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorHint, listenHint, missingEnvHint, missingModuleHint, relativeImportHint, startLine } from '../../cli/start-check.js';

const SETTINGS_MESSAGE = '2 validation errors for Settings\ndatabase_url\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/missing\nsecret_key\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/missing';
const SETTINGS_STACK = 'Traceback (most recent call last):\n  File "/code/main.py", line 6, in <module>\n    settings = Settings()\n               ^^^^^^^^^^\n  File "/deps/pydantic_settings/main.py", line 292, in __init__\n    super().__init__(**__pydantic_self__.__class__._settings_build_values(sources, init_kwargs))\n'
  + `pydantic_core._pydantic_core.ValidationError: ${SETTINGS_MESSAGE}\n`;

describe('missingEnvHint', () => {
  it('a pydantic-settings model with required fields missing names them and their env names', () => {
    const hint = missingEnvHint({ function: 'shop', cause: { type: 'ValidationError', message: SETTINGS_MESSAGE, stack: SETTINGS_STACK } }, 'fastapi-platform');
    assert.ok(hint !== null);
    assert.match(hint, /need database_url, secret_key, read from env DATABASE_URL, SECRET_KEY/);
    assert.match(hint, /deploy sets platform\.yaml's `env:` and does not read \.env/);
    assert.match(hint, /`fastapi-platform env set shop DATABASE_URL=… --secret`/);
  });
  it('a ValidationError of the app\'s own models, a KeyError of a dict, another error: no hint', () => {
    const own = SETTINGS_STACK.replace('/deps/pydantic_settings/main.py', '/code/models.py');
    assert.equal(missingEnvHint({ cause: { type: 'ValidationError', message: SETTINGS_MESSAGE, stack: own } }, 'fp'), null);
    assert.equal(missingEnvHint({ cause: { type: 'KeyError', message: "'DATABASE_URL'", stack: 'File "/code/main.py", line 2\n    URL = CONFIG["DATABASE_URL"]\n' } }, 'fp'), null);
    assert.equal(missingEnvHint({ cause: { type: 'RuntimeError', message: 'no config', stack: 'os.environ[' } }, 'fp'), null);
    assert.equal(missingEnvHint({}, 'fp'), null);
  });
  // A function's error text chooses the names: one that read FP_TOKEN (the CLI's token variable)
  // made `runs <id>`, which any member of the workspace may read, say to set a secret
  // FP_TOKEN=… with the reader's token; the API refuses FP_ names (red team round 16).
  it('a name the platform reserves (FP_) is named as the platform\'s: never a secret to set', () => {
    for (const cause of [{ type: 'KeyError', message: "'FP_TOKEN'", stack: '    TOKEN = os.environ["FP_TOKEN"]\n' },
      { type: 'ValidationError', message: SETTINGS_MESSAGE.replace('secret_key', 'fp_mongo_uri'), stack: SETTINGS_STACK }]) {
      const hint = missingEnvHint({ function: 'shop', cause }, 'fastapi-platform') ?? '';
      assert.doesNotMatch(hint, /env set|--secret/, hint);
      assert.match(hint, /names starting with FP_ are the platform's, and no env or secret sets them \((FP_TOKEN|FP_MONGO_URI)\)/);
      assert.match(hint, /data binding \(platform\.yaml `data:`/);
    }
  });
  it('in dev: the folder\'s .env, which dev reads, not deploy\'s "does not read .env" (new-user round 9: dev said nothing)', () => {
    const cause = { type: 'KeyError', message: "'API_KEY'", stack: '    KEY = os.environ["API_KEY"]\n' };
    const hint = errorHint({ function: 'shop', cause }, '', { dev: true }) ?? '';
    assert.match(hint, /^It reads env API_KEY, which the function does not have: dev sets the folder's \.env and platform\.yaml's `env:`\. Add API_KEY=… to \.env/);
    assert.doesNotMatch(hint, /does not read \.env|--secret/);
    // A reserved name is the platform's there too.
    assert.match(errorHint({ function: 'shop', cause: { ...cause, message: "'FP_TOKEN'" } }, '', { dev: true }) ?? '', /names starting with FP_ are the platform's/);
  });
  it('the function\'s own text in the hint is shown escaped', () => {
    const hint = missingEnvHint({ function: 'f', cause: { type: 'KeyError', message: "'A'", stack: '    os.environ["A"]\n' } }, 'fp');
    assert.match(hint ?? '', /^It reads env A, which the function does not have/);
    const odd = missingEnvHint({ function: 'f', cause: { type: 'ValidationError', message: 'x\nbad\x1b[31m\n  Field required [type=missing', stack: 'pydantic_settings' } }, 'fp');
    assert.equal(odd, null, 'a field name that is not an identifier is not repeated');
  });
});

// Manager() and a forkserver Pool run end to end in test/e2e/cli.test.ts; these are the other
// shapes a refused listen takes (stacks as a real run had them, apps round 14).
describe('listenHint', () => {
  const LISTENER = 'Traceback (most recent call last):\n  File "/code/main.py", line 10, in handler\n    Listener(("127.0.0.1", 0))\n'
    + '  File "/usr/lib/python3.11/multiprocessing/connection.py", line 607, in __init__\n    self._socket.bind(address)\nPermissionError: [Errno 1] Operation not permitted\n';
  const OWN = 'Traceback (most recent call last):\n  File "/code/main.py", line 13, in handler\n    s.bind("/tmp/x.sock"); s.listen()\nPermissionError: [Errno 1] Operation not permitted\n';
  const OWN_CARETS = 'Traceback (most recent call last):\n  File "/code/main.py", line 3, in <module>\n    sock.bind(("127.0.0.1", 8080))\n    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\nPermissionError: [Errno 1] Operation not permitted\n';
  it('multiprocessing.connection.Listener, and the app\'s own bind() or listen(), name the refused listen', () => {
    for (const stack of [LISTENER, OWN, OWN_CARETS]) {
      assert.match(errorHint({ function: 'f', cause: { type: 'PermissionError', message: '[Errno 1] Operation not permitted', stack } }, 'fp') ?? '',
        /^A function cannot listen on a socket, nor bind an inet one/, stack);
    }
  });
  it('a refusal the runtime\'s message already explains (a forkserver Pool, apps round 26): no second hint', () => {
    const stack = 'Traceback (most recent call last):\n  File "/usr/lib/python3.11/multiprocessing/forkserver.py", line 141, in ensure_running\n    listener.listen()\nPermissionError: [Errno 1] Operation not permitted\n';
    const message = '[Errno 1] Operation not permitted [a function may not listen on a socket (docs/security.md, "Ports"), and multiprocessing\'s forkserver start method and Manager() listen on one: use a fork or spawn context]';
    assert.equal(listenHint({ cause: { type: 'PermissionError', message, stack } }), null);
    assert.match(listenHint({ cause: { type: 'PermissionError', message: '[Errno 1] Operation not permitted', stack } }) ?? '', /^A function cannot listen/);
  });
  it('another PermissionError, or an EOFError that is not a Manager\'s start: no hint', () => {
    const open = 'Traceback (most recent call last):\n  File "/code/main.py", line 2, in <module>\n    open("/etc/shadow").read()\nPermissionError: [Errno 13] Permission denied: \'/etc/shadow\'\n';
    assert.equal(listenHint({ cause: { type: 'PermissionError', message: "[Errno 13] Permission denied: '/etc/shadow'", stack: open } }), null);
    assert.equal(listenHint({ cause: { type: 'PermissionError', message: '[Errno 1] Operation not permitted', stack: '  File "/code/main.py", line 2, in <module>\n    os.setuid(0)\nPermissionError: [Errno 1] Operation not permitted\n' } }), null);
    assert.equal(listenHint({ cause: { type: 'EOFError', message: '', stack: '  File "/code/main.py", line 2, in <module>\n    input()\nEOFError\n' } }), null);
    assert.equal(listenHint({}), null);
  });
});

// New-user round 3: `ModuleNotFoundError: No module named 'humanize'` ended with "Fix it and deploy
// again"; validate's warning about the import had scrolled away above the traceback.
describe('missingModuleHint', () => {
  it('a module the load could not import says where packages and the function\'s own modules come from', () => {
    const hint = errorHint({ function: 'shop', cause: { type: 'ModuleNotFoundError', message: "No module named 'humanize'", stack: '' } }, 'fp') ?? '';
    assert.match(hint, /^It imports humanize, which the function's environment does not have: a package goes in requirements\.txt .*pyyaml for yaml.*a module of your own \(humanize\) must be among the uploaded files/);
    assert.match(missingModuleHint({ cause: { type: 'ModuleNotFoundError', message: "No module named 'app.routers'; 'app' is not a package" } }) ?? '', /imports app\.routers.*own \(app\)/);
  });
  it('another ImportError, or a message of another shape: no hint', () => {
    assert.equal(missingModuleHint({ cause: { type: 'ImportError', message: "cannot import name 'x' from 'y'" } }), null);
    assert.equal(missingModuleHint({ cause: { type: 'ModuleNotFoundError', message: 'something else' } }), null);
    assert.equal(missingModuleHint({}), null);
  });
});

// ADR 0201 (apps round 18): a version whose process cannot be a template is said at deploy, with the
// runtime's reason shown safe for a terminal (the reason is the function's to write).
describe('startLine', () => {
  it('a loaded version, and one that can have no template: the warning with its reason, escaped', () => {
    assert.equal(startLine({ checked: true, initMs: 12.5 }), 'Start check: it loaded in 12.5 ms (then stopped: the first call starts it).');
    const lines = startLine({ checked: true, initMs: 900, noTemplate: 'the module keeps 1 descriptor(s) open after import (/tmp/db\u001b[2J): close them' }).split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^warning: scale-out: no instance can be forked from a template, so each new instance loads it again: the module keeps 1 descriptor\(s\) open/);
    assert.ok(!lines[1]!.includes('\u001b'), lines[1]!);
    assert.equal(startLine({ checked: false, reason: 'busy' }), 'Start check: not made (busy); the first call shows whether it loads.');
  });
});

// new-user round 11: a top-level main.py with `from .routers import items` failed its start check with
// the traceback alone; the hint says why (no package) and the two ways out.
describe('relativeImportHint', () => {
  it('a relative import outside a package names the absolute import and the package layout', () => {
    for (const message of ['attempted relative import with no known parent package', 'attempted relative import beyond top-level package']) {
      const hint = errorHint({ function: 'shop', cause: { type: 'ImportError', message, stack: 'File "/code/main.py", line 2, in <module>\n    from .routers import items\n' } }, 'fastapi-platform') ?? '';
      assert.match(hint, /Import it by its name \(`from x import y`/);
      assert.match(hint, /entrypoint: app\.main:app, as `uvicorn app\.main:app` runs it/);
    }
  });
  it('another ImportError has no such hint', () => {
    assert.equal(relativeImportHint({ cause: { type: 'ImportError', message: "cannot import name 'x' from 'y'" } }), null);
  });
});
